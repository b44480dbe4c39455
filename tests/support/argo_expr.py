"""Argo Rollouts analysis verdicts, computed the way the controller computes them.

An AnalysisTemplate metric has a ``successCondition`` and/or ``failureCondition`` written in the
expr language (github.com/expr-lang/expr); the Prometheus provider passes ``result`` as a float
(scalar query) or a list of floats (vector query, one per series; empty when nothing matched).
This module evaluates the subset of expr the platform's templates use:

- literals: numbers (``0.99``, ``1e-3``), strings, ``true``, ``false``; the variable ``result``
- indexing ``result[0]`` (out of range is an evaluation error, as in expr; negative counts back)
- calls: ``len(x)``, ``isNaN(x)``, ``isInf(x)``, ``asFloat(x)``, ``asInt(x)``
- arithmetic ``+ - * /``, comparisons ``== != < <= > >=``, ``&&``/``and``, ``||``/``or``,
  ``!``/``not`` (short-circuit, operands must be booleans), parentheses.

Like the real evaluator (argo-rollouts v1.9.0 utils/evaluate/evaluate.go EvalCondition:
``expr.Compile(condition, expr.Env(env))`` with github.com/antonmedv/expr v1.15.5, then
``expr.Run``):
- the whole condition is type-checked against the type of ``result`` before anything runs, so a
  mistyped branch is an error even where ``&&``/``||`` would skip it at run time;
- operator precedence is expr's (parser/operator/operator.go): ``||`` 10, ``&&`` 15, all six
  comparisons 20 (one level, left-associative: ``a == b < c`` is ``(a == b) < c``), ``+ -`` 30,
  ``* /`` 60; unary ``!``/``not`` binds at 50 (``!a * b`` is ``!(a * b)``), unary ``- +`` at 90;
- ``asInt`` converts a float as Go's int64() does on amd64 (the controller's platform here):
  NaN, Inf and out-of-range values give -9223372036854775808, not an error.

Verdicts follow argo-rollouts utils/evaluate/evaluate.go (EvaluateResult) and
analysis/analysis.go (assessMetricStatus, assessMetricFailureInconclusiveOrError,
runMeasurements):

measurement: an evaluation error -> Error; neither condition set -> Successful; only
successCondition -> Successful if true else Failed; only failureCondition -> Failed if true else
Successful; both -> Failed if failureCondition is true, else Successful if successCondition is
true, else Inconclusive.

metric: Failed when failed measurements > failureLimit (default 0; a negative failureLimit never
fails); Inconclusive when inconclusive ones > inconclusiveLimit (default 0); Error when
consecutive errors > consecutiveErrorLimit (default 4) -- checked in that order, the last that
applies wins; else Successful once ``count`` measurements were taken (errors are not counted: an
errored measurement is retried after 10 s, ERROR_RETRY_SECONDS), Running before -- and Successful
when the run is terminated (the Rollout finished or moved on) while still Running.

CLI (from the repository root): ``python -m tests.support.argo_expr 'result[0] >= 0.99' '[0.995]'``
prints the verdict.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

SUCCESSFUL = "Successful"
FAILED = "Failed"
INCONCLUSIVE = "Inconclusive"
ERROR = "Error"
RUNNING = "Running"

DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4  # utils/defaults/defaults.go DefaultConsecutiveErrorLimit
ERROR_RETRY_SECONDS = (
    10  # analysis/analysis.go DefaultErrorRetryInterval: after an Error measurement
)
GO_INT64_INDEFINITE = -(2**63)  # amd64 CVTTSD2SI of NaN, Inf and out-of-range floats


class ExprError(ValueError):
    """The condition does not parse, or evaluating it failed (expr returns an error)."""


# ------------------------------------------------------------------------------------ lexer
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"[^"\\]*"|'[^'\\]*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>&&|\|\||==|!=|<=|>=|[<>!()\[\],+\-*/])
    """,
    re.VERBOSE,
)
_WORD_OPS = {"and": "&&", "or": "||", "not": "!"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # number | name | op | end
    text: str
    pos: int


def _tokens(source: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if not m:
            raise ExprError(f"unexpected character {source[pos]!r} at {pos} in {source!r}")
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "name" and text in _WORD_OPS:
            kind, text = "op", _WORD_OPS[text]
        if kind != "ws":
            out.append(_Tok(kind, text, pos))
        pos = m.end()
    out.append(_Tok("end", "", pos))
    return out


# ----------------------------------------------------------------------------------- parser
# The tree is nested tuples: ("num", v) ("bool", v) ("var", name) ("index", x, i)
# ("call", name, [args]) ("unary", op, x) ("binary", op, l, r).
# github.com/antonmedv/expr v1.15.5 parser/operator/operator.go (all left-associative here).
_BINARY = {
    "||": 10,
    "&&": 15,
    "==": 20,
    "!=": 20,
    "<": 20,
    ">": 20,
    "<=": 20,
    ">=": 20,
    "+": 30,
    "-": 30,
    "*": 60,
    "/": 60,
}
_UNARY = {"!": 50, "-": 90, "+": 90}


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.toks = _tokens(source)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self, text: str | None = None) -> _Tok:
        tok = self.toks[self.i]
        if text is not None and tok.text != text:
            shown = tok.text or "end of input"
            raise ExprError(f"expected {text!r} at {tok.pos}, found {shown!r} in {self.source!r}")
        self.i += 1
        return tok

    def parse(self) -> tuple:
        if self.peek().kind == "end":
            raise ExprError("empty condition")
        tree = self.expression(0)
        if self.peek().kind != "end":
            tok = self.peek()
            raise ExprError(f"unexpected {tok.text!r} at {tok.pos} in {self.source!r}")
        return tree

    def expression(self, precedence: int) -> tuple:
        """parser.go parseExpression: a primary, then binary operators of at least this
        precedence, each right operand parsed one level higher (left associativity)."""
        left = self.unary()
        while self.peek().kind == "op" and self.peek().text in _BINARY:
            level = _BINARY[self.peek().text]
            if level < precedence:
                break
            op = self.take().text
            left = ("binary", op, left, self.expression(level + 1))
        return left

    def unary(self) -> tuple:
        """parser.go parsePrimary: a unary operator takes an expression of its precedence."""
        tok = self.peek()
        if tok.kind == "op" and tok.text in _UNARY:
            self.take()
            return ("unary", tok.text, self.expression(_UNARY[tok.text]))
        return self.postfix()

    def postfix(self) -> tuple:
        node = self.primary()
        while self.peek().text == "[":
            self.take("[")
            index = self.expression(0)
            self.take("]")
            node = ("index", node, index)
        return node

    def primary(self) -> tuple:
        tok = self.take()
        if tok.kind == "number":
            text = tok.text
            return ("num", float(text) if any(c in text for c in ".eE") else int(text))
        if tok.kind == "string":
            return ("str", tok.text[1:-1])
        if tok.kind == "name":
            if tok.text in ("true", "false"):
                return ("bool", tok.text == "true")
            if self.peek().text == "(":
                self.take("(")
                args: list[tuple] = []
                if self.peek().text != ")":
                    args.append(self.expression(0))
                    while self.peek().text == ",":
                        self.take(",")
                        args.append(self.expression(0))
                self.take(")")
                return ("call", tok.text, args)
            return ("var", tok.text)
        if tok.text == "(":
            node = self.expression(0)
            self.take(")")
            return node
        shown = tok.text or "end of input"
        raise ExprError(f"unexpected {shown!r} at {tok.pos} in {self.source!r}")


def parse(condition: str) -> tuple:
    """Parse a condition; raise ExprError on a syntax error."""
    return _Parser(condition).parse()


# -------------------------------------------------------------------------------- evaluator
def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _num(value: Any, what: str) -> float:
    if not _is_number(value):
        raise ExprError(f"{what} expects a number, got {_type(value)}")
    return value


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, list | tuple):
        return "array"
    if value is None:
        return "nil"
    return type(value).__name__


def _as_float(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ExprError(f"asFloat: cannot parse {value!r}") from None
    return float(_num(value, "asFloat"))


def _as_int(value: Any) -> int:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ExprError(f"asInt: cannot parse {value!r}") from None
    number = _num(value, "asInt")
    if isinstance(number, float):
        if math.isnan(number) or math.isinf(number) or not -(2**63) <= number < 2**63:
            return GO_INT64_INDEFINITE
        return int(number)  # truncates toward zero, like Go
    return number


def _len(value: Any) -> int:
    if isinstance(value, list | tuple | str):
        return len(value)
    raise ExprError(f"invalid argument for len (type {_type(value)})")


_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "len": _len,
    "isNaN": lambda x: math.isnan(_num(x, "isNaN")),
    "isInf": lambda x: math.isinf(_num(x, "isInf")),
    "asFloat": _as_float,
    "asInt": _as_int,
}

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _eval(node: tuple, env: dict[str, Any]) -> Any:
    kind = node[0]
    if kind in ("num", "bool", "str"):
        return node[1]
    if kind == "var":
        if node[1] not in env:
            raise ExprError(f"unknown name {node[1]}")
        return env[node[1]]
    if kind == "index":
        seq = _eval(node[1], env)
        index = _eval(node[2], env)
        if not isinstance(seq, list | tuple):
            raise ExprError(f"cannot index {_type(seq)}")
        if not isinstance(index, int) or isinstance(index, bool):
            raise ExprError(f"array index must be an integer, got {_type(index)}")
        if not -len(seq) <= index < len(seq):
            raise ExprError(f"index out of range: {index} (array of length {len(seq)})")
        return seq[index]
    if kind == "call":
        name, args = node[1], node[2]
        if name not in _FUNCTIONS:
            raise ExprError(f"unknown function {name}")
        if len(args) != 1:
            raise ExprError(f"{name} takes 1 argument, got {len(args)}")
        return _FUNCTIONS[name](_eval(args[0], env))
    if kind == "unary":
        value = _eval(node[2], env)
        if node[1] == "!":
            if not isinstance(value, bool):
                raise ExprError(f"invalid operation: ! {_type(value)}")
            return not value
        value = _num(value, f"unary {node[1]}")
        return -value if node[1] == "-" else value
    op, left_node, right_node = node[1], node[2], node[3]
    left = _eval(left_node, env)
    if op in ("&&", "||"):
        if not isinstance(left, bool):
            raise ExprError(f"invalid operation: {_type(left)} {op} ...")
        if (op == "&&" and not left) or (op == "||" and left):
            return left
        right = _eval(right_node, env)
        if not isinstance(right, bool):
            raise ExprError(f"invalid operation: ... {op} {_type(right)}")
        return right
    right = _eval(right_node, env)
    if op in ("==", "!="):
        same = _is_number(left) and _is_number(right) and left == right
        same = same or (type(left) is type(right) and left == right)
        return same if op == "==" else not same
    a, b = _num(left, op), _num(right, op)
    if op in _COMPARE:
        return _COMPARE[op](a, b)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    # expr divides as floats: 1/0 is +Inf, 0/0 is NaN, never an error
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


# --------------------------------------------------------------------------- type checker
# Types: "int", "float", "bool", "string", ("array", element type), "any" (unknown: no check).
_NUMBER = ("int", "float")


def _type_of(value: Any) -> Any:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        kinds = {_type_of(v) for v in value}
        if not value:
            kinds = {"float"}  # the Prometheus provider's []float64, empty or not
        element = kinds.pop() if len(kinds) == 1 else "any"
        return ("array", element)
    return "any"


def _shown(kind: Any) -> str:
    names = {"int": "int", "float": "float64", "bool": "bool", "string": "string"}
    if isinstance(kind, tuple):
        return f"[]{_shown(kind[1])}"
    return names.get(kind, "interface {}")


def _check(node: tuple, env: dict[str, Any]) -> Any:
    """The static type of a node, raising ExprError where expr's checker (checker/checker.go)
    refuses the condition at compile time."""
    kind = node[0]
    if kind == "str":
        return "string"
    if kind == "num":
        return "int" if isinstance(node[1], int) else "float"
    if kind == "bool":
        return "bool"
    if kind == "var":
        if node[1] not in env:
            raise ExprError(f"unknown name {node[1]}")
        return env[node[1]]
    if kind == "index":
        seq, index = _check(node[1], env), _check(node[2], env)
        if seq == "any":
            return "any"
        if not isinstance(seq, tuple):
            raise ExprError(f"type {_shown(seq)} does not support indexing")
        if index not in ("int", "any"):
            raise ExprError(f"non-integer slice index {_shown(index)}")
        return seq[1]
    if kind == "call":
        name, args = node[1], node[2]
        if name not in _FUNCTIONS:
            raise ExprError(f"unknown name {name}")
        if len(args) != 1:
            raise ExprError(f"{name} takes 1 argument, got {len(args)}")
        arg = _check(args[0], env)
        if name == "len":
            if arg not in ("any", "string") and not isinstance(arg, tuple):
                raise ExprError(f"invalid argument for len (type {_shown(arg)})")
            return "int"
        if name in ("isNaN", "isInf"):  # func(float64): integers are converted, as in expr
            if arg not in (*_NUMBER, "any"):
                raise ExprError(
                    f"cannot use {_shown(arg)} as argument (type float64) to call {name}"
                )
            return "bool"
        return "int" if name == "asInt" else "float"
    if kind == "unary":
        operand = _check(node[2], env)
        if node[1] == "!":
            if operand not in ("bool", "any"):
                raise ExprError(f"invalid operation: ! (mismatched type {_shown(operand)})")
            return "bool"
        if operand not in (*_NUMBER, "any"):
            raise ExprError(f"invalid operation: {node[1]} (mismatched type {_shown(operand)})")
        return operand
    op = node[1]
    left, right = _check(node[2], env), _check(node[3], env)
    unknown = "any" in (left, right)
    mismatch = ExprError(
        f"invalid operation: {op} (mismatched types {_shown(left)} and {_shown(right)})"
    )
    if op in ("&&", "||"):
        if not unknown and (left != "bool" or right != "bool"):
            raise mismatch
        return "bool"
    if op in ("==", "!="):
        if not unknown and left != right and not (left in _NUMBER and right in _NUMBER):
            raise mismatch
        return "bool"
    if not unknown and (left not in _NUMBER or right not in _NUMBER):
        raise mismatch
    if op in ("<", "<=", ">", ">="):
        return "bool"
    if op == "/":
        return "float"
    return "int" if (left, right) == ("int", "int") else ("float" if not unknown else "any")


def evaluate(condition: str, result: Any) -> bool:
    """Compile (parse and type-check against ``result``), then run a condition; raise ExprError
    unless it yields a bool."""
    tree = parse(condition)
    _check(tree, {"result": _type_of(result)})
    value = _eval(tree, {"result": result})
    if not isinstance(value, bool):
        raise ExprError(f"expected bool, but got {_type(value)}")
    return value


# --------------------------------------------------------------------------------- verdicts
def measurement_phase(
    result: Any, success_condition: str | None = None, failure_condition: str | None = None
) -> str:
    """One measurement's phase, as EvaluateResult computes it."""
    try:
        success = evaluate(success_condition, result) if success_condition else False
        failure = evaluate(failure_condition, result) if failure_condition else False
    except ExprError:
        return ERROR
    if not success_condition and not failure_condition:
        return SUCCESSFUL
    if success_condition and not failure_condition:
        failure = not success
    elif failure_condition and not success_condition:
        success = not failure
    if failure:
        return FAILED
    if not success:
        return INCONCLUSIVE
    return SUCCESSFUL


def metric_phase(
    phases: Sequence[str],
    failure_limit: int = 0,
    inconclusive_limit: int = 0,
    consecutive_error_limit: int = DEFAULT_CONSECUTIVE_ERROR_LIMIT,
    count: int | None = None,
    terminated: bool = False,
) -> str:
    """A metric's phase after the given measurement phases, as assessMetricStatus computes it.
    Errors are not counted towards ``count`` (runMeasurements: only Successful, Failed and
    Inconclusive increment Count); a negative failure_limit never fails the metric;
    ``terminated``: the run was told to stop (its Rollout finished), which ends a Running metric
    as Successful."""
    failed = sum(p == FAILED for p in phases)
    inconclusive = sum(p == INCONCLUSIVE for p in phases)
    counted = sum(p in (SUCCESSFUL, FAILED, INCONCLUSIVE) for p in phases)
    consecutive_errors = 0
    for p in reversed(phases):
        if p != ERROR:
            break
        consecutive_errors += 1
    phase = ""
    if failure_limit >= 0 and failed > failure_limit:
        phase = FAILED
    if inconclusive > inconclusive_limit:
        phase = INCONCLUSIVE
    if consecutive_errors > consecutive_error_limit:
        phase = ERROR
    if phase:
        return phase
    if count is not None and counted >= count:
        return SUCCESSFUL
    if terminated:
        return SUCCESSFUL
    return RUNNING


def metric_verdict(metric: dict[str, Any], result: Any) -> str:
    """A measurement phase for an AnalysisTemplate metric (a dict as in the template's spec)."""
    return measurement_phase(
        result, metric.get("successCondition") or None, metric.get("failureCondition") or None
    )


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(
            "usage: python -m tests.support.argo_expr"
            " SUCCESS_CONDITION RESULT_JSON [FAILURE_CONDITION]"
        )
        return 2
    result = json.loads(argv[1])  # Python's json reads NaN and Infinity
    result = [float(x) for x in result] if isinstance(result, list) else float(result)
    print(measurement_phase(result, argv[0] or None, argv[2] if len(argv) == 3 else None))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
