"""scripts/argo_expr.py: the expr subset and Argo Rollouts' verdict rules."""

from __future__ import annotations

import math

import argo_expr
import pytest
from argo_expr import ERROR, FAILED, INCONCLUSIVE, RUNNING, SUCCESSFUL, ExprError

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
        ("median(result) > 1", [1.0], "unknown function"),
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
