"""Argo Rollouts analysis verdicts, computed the way the controller computes them.

An AnalysisTemplate metric has a ``successCondition`` and/or ``failureCondition`` written in the
expr language (github.com/expr-lang/expr); the Prometheus provider passes ``result`` as a float
(scalar query) or a list of floats (vector query, one per series; empty when nothing matched).
This module evaluates the subset of expr the platform's templates use:

- literals: numbers (``0.99``, ``1e-3``), ``true``, ``false``; the variable ``result``
- indexing ``result[0]`` (out of range is an evaluation error, as in expr; negative counts back)
- calls: ``len(x)``, ``isNaN(x)``, ``isInf(x)``, ``asFloat(x)``, ``asInt(x)``
- arithmetic ``+ - * /``, comparisons ``== != < <= > >=``, ``&&``/``and``, ``||``/``or``,
  ``!``/``not`` (short-circuit, operands must be booleans), parentheses.

Verdicts follow argo-rollouts utils/evaluate/evaluate.go (EvaluateResult) and
analysis/analysis.go (assessMetricStatus):

measurement: an evaluation error -> Error; neither condition set -> Successful; only
successCondition -> Successful if true else Failed; only failureCondition -> Failed if true else
Successful; both -> Failed if failureCondition is true, else Successful if successCondition is
true, else Inconclusive.

metric: Failed when failed measurements > failureLimit (default 0); Inconclusive when
inconclusive ones > inconclusiveLimit (default 0); Error when consecutive errors >
consecutiveErrorLimit (default 4) -- checked in that order, the last that applies wins; else
Successful once ``count`` measurements were taken, Running before.

CLI: ``python scripts/argo_expr.py 'result[0] >= 0.99' '[0.995]'`` prints the verdict.
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

DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4


class ExprError(ValueError):
    """The condition does not parse, or evaluating it failed (expr returns an error)."""


# ------------------------------------------------------------------------------------ lexer
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
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
_PRECEDENCE = [
    ("||",),
    ("&&",),
    ("==", "!="),
    ("<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "/"),
]


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
        tree = self.binary(0)
        if self.peek().kind != "end":
            tok = self.peek()
            raise ExprError(f"unexpected {tok.text!r} at {tok.pos} in {self.source!r}")
        return tree

    def binary(self, level: int) -> tuple:
        if level == len(_PRECEDENCE):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in _PRECEDENCE[level]:
            op = self.take().text
            left = ("binary", op, left, self.binary(level + 1))
        return left

    def unary(self) -> tuple:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("!", "-", "+"):
            self.take()
            return ("unary", tok.text, self.unary())
        return self.postfix()

    def postfix(self) -> tuple:
        node = self.primary()
        while self.peek().text == "[":
            self.take("[")
            index = self.binary(0)
            self.take("]")
            node = ("index", node, index)
        return node

    def primary(self) -> tuple:
        tok = self.take()
        if tok.kind == "number":
            text = tok.text
            return ("num", float(text) if any(c in text for c in ".eE") else int(text))
        if tok.kind == "name":
            if tok.text in ("true", "false"):
                return ("bool", tok.text == "true")
            if self.peek().text == "(":
                self.take("(")
                args: list[tuple] = []
                if self.peek().text != ")":
                    args.append(self.binary(0))
                    while self.peek().text == ",":
                        self.take(",")
                        args.append(self.binary(0))
                self.take(")")
                return ("call", tok.text, args)
            return ("var", tok.text)
        if tok.text == "(":
            node = self.binary(0)
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
    return int(_num(value, "asInt"))


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
    if kind in ("num", "bool"):
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


def evaluate(condition: str, result: Any) -> bool:
    """Evaluate a condition with ``result`` bound; raise ExprError unless it yields a bool."""
    value = _eval(parse(condition), {"result": result})
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
) -> str:
    """A metric's phase after the given measurement phases, as assessMetricStatus computes it."""
    failed = sum(p == FAILED for p in phases)
    inconclusive = sum(p == INCONCLUSIVE for p in phases)
    consecutive_errors = 0
    for p in reversed(phases):
        if p != ERROR:
            break
        consecutive_errors += 1
    phase = ""
    if failed > failure_limit:
        phase = FAILED
    if inconclusive > inconclusive_limit:
        phase = INCONCLUSIVE
    if consecutive_errors > consecutive_error_limit:
        phase = ERROR
    if phase:
        return phase
    if count is not None and len(phases) >= count:
        return SUCCESSFUL
    return RUNNING


def metric_verdict(metric: dict[str, Any], result: Any) -> str:
    """A measurement phase for an AnalysisTemplate metric (a dict as in the template's spec)."""
    return measurement_phase(
        result, metric.get("successCondition") or None, metric.get("failureCondition") or None
    )


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: argo_expr.py SUCCESS_CONDITION RESULT_JSON [FAILURE_CONDITION]")
        return 2
    result = json.loads(argv[1])  # Python's json reads NaN and Infinity
    result = [float(x) for x in result] if isinstance(result, list) else float(result)
    print(measurement_phase(result, argv[0] or None, argv[2] if len(argv) == 3 else None))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
