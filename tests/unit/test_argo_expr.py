"""tests/support/argo_expr.py: the expr subset and Argo Rollouts' verdict rules.

Cases marked "upstream:" restate argoproj/argo-rollouts tag v1.9.0 test cases
(utils/evaluate/evaluate_test.go, analysis/analysis_test.go) or are checked against the code the
controller runs (utils/evaluate/evaluate.go; github.com/antonmedv/expr v1.15.5 parser and checker).
"""

from __future__ import annotations

import math

import pytest

from tests.support import argo_expr
from tests.support.argo_expr import ERROR, FAILED, INCONCLUSIVE, RUNNING, SUCCESSFUL, ExprError

NAN = math.nan


@pytest.mark.parametrize(
    ("condition", "result", "expected"),
    [
        ("result[0] >= 0.99", [0.995], True),
        ("result[0] >= 0.99", [0.98], False),
        ("result[0] >= 0.99", [NAN], False),  # NaN compares false, as in Go
        ("result[-1] < 0.5", [0.9, 0.1], True),
        ("len(result) == 0", [], True),
        ("len(result) == 0 || result[0] >= 0.99", [], True),  # short-circuit: no index error
        ("len(result) > 0 && result[0] < 0.99", [], False),
        ("isNaN(result[0]) || result[0] <= 0.5", [NAN], True),
        ("!isNaN(result[0]) && result[0] <= 0.5", [NAN], False),
        ("not isNaN(result[0]) and result[0] <= 0.5", [0.2], True),
        ("isInf(result[0])", [math.inf], True),
        ("result >= 0.99", 0.995, True),  # scalar queries bind a float
        ("result[0] * 100 > 1 + 2 * 3 / 4", [0.03], True),  # 3 > 2.5: precedence
        ("(result[0] > 1 || result[0] < 0) == false", [0.5], True),
        ("result[0] != 1", [1.0], False),  # int and float compare by value
        ("result[0] > 1e-3", [0.01], True),
        ("-result[0] < 0", [2], True),
        ("asFloat(result[0]) == 2", [2], True),
        ("true", [], True),
    ],
)
def test_conditions(condition, result, expected):
    assert argo_expr.evaluate(condition, result) is expected


@pytest.mark.parametrize(
    ("condition", "result", "message"),
    [
        ("result[0] >= 0.99", [], "index out of range"),
        ("len(result)", [1.0], "expected bool"),
        ("result[0] >= ", [1.0], "unexpected"),
        ("result[0] >= 0.99)", [1.0], "unexpected"),
        ("result[0 >= 0.99", [1.0], "expected ']'"),
        ("resultt[0] > 1", [1.0], "unknown name"),
        ("median(result) > 1", [1.0], "unknown name median"),
        ("result[0] > 1 && 1", [2.0], "invalid operation"),
        ("!result[0]", [2.0], "invalid operation"),
        ("len(result[0]) > 1", [2.0], "len"),
        ("result[0] > 1 ; rm", [2.0], "unexpected character"),
        ("", [2.0], "empty"),
    ],
)
def test_errors(condition, result, message):
    with pytest.raises(ExprError, match=message):
        argo_expr.evaluate(condition, result)


def test_division_follows_go_floats():
    assert argo_expr.evaluate("1 / result[0] > 1000", [0])
    assert argo_expr.evaluate("isNaN(result[0] / result[0])", [0])


@pytest.mark.parametrize(
    ("success", "failure", "result", "expected"),
    [
        # both conditions: failure wins, then success, else inconclusive
        ("result[0] >= 0.99", "result[0] < 0.95", [0.999], SUCCESSFUL),
        ("result[0] >= 0.99", "result[0] < 0.95", [0.90], FAILED),
        ("result[0] >= 0.99", "result[0] < 0.95", [0.97], INCONCLUSIVE),
        ("result[0] >= 0.5", "result[0] >= 0.5", [0.7], FAILED),
        # only successCondition: false means Failed
        ("result[0] >= 0.99", None, [0.97], FAILED),
        ("result[0] >= 0.99", None, [0.999], SUCCESSFUL),
        # only failureCondition: false means Successful
        (None, "result[0] < 0.95", [0.97], SUCCESSFUL),
        (None, "result[0] < 0.95", [0.90], FAILED),
        # no condition at all: always Successful
        (None, None, [0.0], SUCCESSFUL),
        (None, None, [], SUCCESSFUL),
        # an evaluation error in either condition is an Error measurement
        ("result[0] >= 0.99", None, [], ERROR),
        ("len(result) == 0 || result[0] >= 0.99", "result[0] < 0.95", [], ERROR),
        (
            "len(result) == 0 || result[0] >= 0.99",
            "len(result) > 0 && result[0] < 0.95",
            [],
            SUCCESSFUL,
        ),
    ],
)
def test_measurement_phase(success, failure, result, expected):
    assert argo_expr.measurement_phase(result, success, failure) == expected


def test_metric_verdict_reads_template_keys():
    metric = {
        "name": "success-rate",
        "successCondition": "result[0] >= 0.99",
        "failureCondition": "",
        "provider": {},
    }
    assert argo_expr.metric_verdict(metric, [0.5]) == FAILED
    assert argo_expr.metric_verdict(metric, [1.0]) == SUCCESSFUL


@pytest.mark.parametrize(
    ("phases", "kwargs", "expected"),
    [
        ([], {}, RUNNING),
        ([SUCCESSFUL, SUCCESSFUL], {"count": 3}, RUNNING),
        ([SUCCESSFUL] * 3, {"count": 3}, SUCCESSFUL),
        ([FAILED], {}, FAILED),  # failureLimit 0: the first failure fails the metric
        ([FAILED], {"failure_limit": 1}, RUNNING),
        ([FAILED, SUCCESSFUL, FAILED], {"failure_limit": 1}, FAILED),  # not consecutive
        ([INCONCLUSIVE], {}, INCONCLUSIVE),
        ([INCONCLUSIVE], {"inconclusive_limit": 1}, RUNNING),
        ([ERROR] * 4, {}, RUNNING),  # consecutiveErrorLimit defaults to 4
        ([ERROR] * 5, {}, ERROR),
        ([ERROR, ERROR, SUCCESSFUL, ERROR], {"consecutive_error_limit": 2}, RUNNING),
        ([FAILED, ERROR, ERROR], {"consecutive_error_limit": 1}, ERROR),  # the last rule wins
    ],
)
def test_metric_phase(phases, kwargs, expected):
    assert argo_expr.metric_phase(phases, **kwargs) == expected


def test_cli(capsys):
    assert argo_expr.main(["result[0] >= 0.99", "[0.5]"]) == 0
    assert capsys.readouterr().out.strip() == FAILED
    assert argo_expr.main(["result[0] >= 0.99", "[NaN]", "isNaN(result[0])"]) == 0
    assert capsys.readouterr().out.strip() == FAILED


# --------------------------------------------------- agreement with the real evaluator (#9)
@pytest.mark.parametrize(
    ("result", "condition", "expected"),
    [
        # upstream: evaluate_test.go TestEvaluateResultWithSuccess/...Failure/...Inconclusive
        (True, ("true", "false"), SUCCESSFUL),
        (True, ("true", "true"), FAILED),
        (True, ("false", "false"), INCONCLUSIVE),
        # upstream: TestEvaluateResultNoSuccessConditionAndNotFailing / NoFailureCondition...
        (True, ("", "false"), SUCCESSFUL),
        (True, ("false", ""), FAILED),
        (True, ("", ""), SUCCESSFUL),
        # upstream: TestEvaluateResultWithErrorOnSuccessCondition / ...OnFailureCondition
        (True, ("a == true", "true"), ERROR),
        (True, ("true", "a == true"), ERROR),
    ],
)
def test_evaluate_result_like_upstream(result, condition, expected):
    success, failure = condition
    assert argo_expr.measurement_phase(result, success or None, failure or None) == expected


@pytest.mark.parametrize(
    ("result", "condition", "expected"),
    [
        # upstream: TestEvaluateConditionWithSuccess / ...WithFailure / TestEvaluateFloat64
        (True, "result == true", True),
        (True, "result == false", False),
        (5.0, "result > 1", True),
        # upstream: TestEvaluateAsInt
        ("1", "asInt(result) == 1", True),
        (1, "asInt(result) == 1", True),
        (1.123, "asInt(result) == 1", True),
        # upstream: TestEvaluateAsFloat
        ("1.1", "asFloat(result) == 1.1", True),
        ("1.1", "asFloat(result) >= 1.1", True),
        ("1.1", "asFloat(result) <= 1.1", True),
        (1.1, "asFloat(result) == 1.1", True),
        (1, "asFloat(result) == 1", True),
        (1, "asFloat(result) >= 1", True),
        # Go's int64(NaN) on amd64 (the controller's nodes): the "integer indefinite" value
        ([math.nan], "asInt(result[0]) < 0", True),
        ([math.inf], "asInt(result[0]) == -9223372036854775808", True),
        ([-1.9], "asInt(result[0]) == -1", True),  # truncation toward zero
    ],
)
def test_conditions_like_upstream(result, condition, expected):
    assert argo_expr.evaluate(condition, result) is expected


@pytest.mark.parametrize(
    ("result", "condition", "message"),
    [
        # upstream: TestErrorWithNonBoolReturn, TestErrorWithInvalidReference
        (True, "1", "expected bool, but got int"),
        (True, "invalidVariable", "unknown name invalidVariable"),
        # upstream: TestEvaluateAsIntPanic, TestAsInt ("notint", "1.1" panic)
        ("1.1", "asInt(result) == 1.1", "asInt"),
        ("notint", "asInt(result) == 1", "asInt"),
        # upstream: TestEvaluateAsFloatError
        ("NotANum", "asFloat(result) == 1.1", "asFloat"),
        ("1.1", 'asFloat(result) == "1.1"', "mismatched types float64 and string"),
        # The whole condition is type-checked before it runs (expr.Compile with the env's types):
        # a mistyped branch fails even where || would skip it. The old emulator said true here.
        ([], "len(result) == 0 || !result[0]", "mismatched type float64"),
        ([], "len(result) == 0 || result[0] + true > 1", "mismatched types float64 and bool"),
        # Comparisons share one precedence level, left to right: (a > b) == c, then bool < num.
        # The old emulator (Go-like levels) read (a > b) == (c > d) and answered true.
        ([0.7, 0.9], "result[0] > 0.5 == result[1] > 0.5", "mismatched types bool and float64"),
        ([0.7], "true == 1 < 2", "mismatched types bool and int"),
    ],
)
def test_errors_like_the_real_evaluator(result, condition, message):
    with pytest.raises(ExprError, match=message):
        argo_expr.evaluate(condition, result)


def test_unary_not_binds_looser_than_multiplication():
    """expr: unary ! parses an operand of precedence 50, so `!a * b` is `!(a * b)`."""
    tree = argo_expr.parse("!result[0] * 2")
    assert tree[0] == "unary" and tree[2][0] == "binary" and tree[2][1] == "*"
    tree = argo_expr.parse("-result[0] * 2")  # unary minus (90) binds tighter
    assert tree[0] == "binary" and tree[2][0] == "unary"


@pytest.mark.parametrize(
    ("phases", "kwargs", "expected"),
    [
        # upstream: analysis_test.go TestAssessMetricStatusNoMeasurements (terminating)
        ([], {"terminated": True}, SUCCESSFUL),
        # upstream: TestAssessMetricStatusFailureLimit: 3 failed, limit 3: Running, or
        # Successful when the run is terminated
        ([FAILED] * 3, {"failure_limit": 3}, RUNNING),
        ([FAILED] * 3, {"failure_limit": 3, "terminated": True}, SUCCESSFUL),
        # upstream: TestAssessMetricStatusInconclusiveLimit
        ([INCONCLUSIVE] * 3, {"inconclusive_limit": 2}, INCONCLUSIVE),
        ([INCONCLUSIVE] * 3, {"inconclusive_limit": 3, "terminated": True}, SUCCESSFUL),
        # upstream: TestAssessMetricStatusConsecutiveErrors: 5 > default 4 is Error, 4 is not
        ([ERROR] * 5, {}, ERROR),
        ([ERROR] * 4, {"terminated": True}, SUCCESSFUL),
        # upstream: TestAssessMetricStatusCountReached
        ([SUCCESSFUL] * 10, {"count": 10}, SUCCESSFUL),
        # failureLimit -1 is "not applicable" (assessMetricFailureInconclusiveOrError)
        ([FAILED] * 5, {"failure_limit": -1}, RUNNING),
        # an Error measurement does not count towards count (runMeasurements)
        ([SUCCESSFUL, ERROR, SUCCESSFUL], {"count": 3}, RUNNING),
        ([SUCCESSFUL, ERROR, SUCCESSFUL, SUCCESSFUL], {"count": 3}, SUCCESSFUL),
        # count counts Inconclusive ones: count 3 of inconclusive within the limit passes --
        # why the promotion gate uses inconclusiveLimit 0 (docs/ADRs/0005)
        ([INCONCLUSIVE] * 3, {"count": 3, "inconclusive_limit": 3}, SUCCESSFUL),
        ([INCONCLUSIVE], {"count": 3, "inconclusive_limit": 0}, INCONCLUSIVE),
    ],
)
def test_metric_phase_like_upstream(phases, kwargs, expected):
    assert argo_expr.metric_phase(phases, **kwargs) == expected


def test_error_retry_interval_is_the_controllers():
    """analysis/analysis.go DefaultErrorRetryInterval = 10 * time.Second."""
    assert argo_expr.ERROR_RETRY_SECONDS == 10
