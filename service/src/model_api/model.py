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
        weights, bias, exp, mul = self.weights, self.bias, math.exp, operator.mul
        out = []
        for row in instances:
            z = bias + sum(map(mul, weights, row))  # rows are validated to the right length
            # Numerically stable sigmoid: exp() never overflows.
            if z >= 0:
                out.append(1.0 / (1.0 + exp(-z)))
            else:
                e = exp(z)
                out.append(e / (1.0 + e))
        return out


def load_packaged_model(resource: str = "model.json") -> LogisticModel:
    """Load the model artifact shipped inside the package (nothing is downloaded)."""
    try:
        text = resources.files("model_api").joinpath("models", resource).read_text("utf-8")
        return LogisticModel.from_dict(json.loads(text))
    except (OSError, ValueError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"cannot load model artifact {resource}: {exc}") from None
