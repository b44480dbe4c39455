"""model_api: the platform's model-serving API."""

from importlib import metadata

try:
    __version__ = metadata.version("model-api")
except metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
