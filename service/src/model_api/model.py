"""The versioned model artifact shipped as package data: a logistic regression stored as JSON."""

from __future__ import annotations

import json
import math
import operator
from dataclasses import dataclass
from importlib import resources

ARTIFACT_FORMAT = "logistic-regression/v1"


class ModelError(ValueError):
    """The model artifact is missing or malformed."""


@dataclass(frozen=True, slots=True)
class LogisticModel:
    name: str
    version: str
    feature_names: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    @property
    def n_features(self) -> int:
        return len(self.weights)

    @classmethod
    def from_dict(cls, data: object) -> LogisticModel:
        if not isinstance(data, dict) or data.get("format") != ARTIFACT_FORMAT:
            raise ModelError(f"model artifact must be a JSON object with format {ARTIFACT_FORMAT}")
        try:
            weights = tuple(float(w) for w in data["weights"])
            bias = float(data["bias"])
            names = tuple(str(n) for n in data.get("feature_names", ()))
            name, version = str(data["name"]), str(data["version"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model artifact is malformed: {exc}") from None
        if not weights or not all(math.isfinite(w) for w in (*weights, bias)):
            raise ModelError("model artifact needs at least one weight, all finite")
        if names and len(names) != len(weights):
            raise ModelError("model artifact has a feature_names list of the wrong length")
        return cls(
            name, version, names or tuple(f"f{i}" for i in range(len(weights))), weights, bias
        )

    def predict(self, instances: list[list[float]]) -> list[float]:
        """Probability of the positive class for each instance (already validated)."""
        weights, bias, mul = self.weights, self.bias, operator.mul
        return [_probability(bias + sum(map(mul, weights, row))) for row in instances]

    def predict_checked(self, instances: list[object], limit: float) -> list[float] | None:
        """predict() for rows that are each a list of exactly n_features numbers (int or float,
        never bool) within [-limit, limit] whose weighted sum is finite; None as soon as one row
        is not, so that the caller validates the input itself and names the problem.

        The checks run in C (map, sum, min, max) rather than one Python step per number: the
        request's hot path. A string, null, array or object in a row makes the multiplication
        raise TypeError, an int beyond float range OverflowError; NaN and infinities make the
        weighted sum non-finite (0 * inf is NaN).
        """
        weights, bias, mul, n = self.weights, self.bias, operator.mul, len(self.weights)
        out = []
        for row in instances:
            if type(row) is not list or len(row) != n or bool in map(type, row):
                return None
            try:
                z = bias + sum(map(mul, weights, row))
            except (TypeError, OverflowError):
                return None
            if not (-_INF < z < _INF and -limit <= min(row) and max(row) <= limit):
                return None
            out.append(_probability(z))
        return out


_INF = math.inf


def _probability(z: float) -> float:
    """The logistic function, numerically stable: exp() never overflows."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def load_packaged_model(resource: str = "model.json") -> LogisticModel:
    """Load the model artifact shipped inside the package (nothing is downloaded)."""
    try:
        text = resources.files("model_api").joinpath("models", resource).read_text("utf-8")
        return LogisticModel.from_dict(json.loads(text))
    except (OSError, ValueError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"cannot load model artifact {resource}: {exc}") from None
