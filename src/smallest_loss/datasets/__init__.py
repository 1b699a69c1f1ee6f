"""External datasets: a registry pinned by URL and sha256, verified download or offline mirror,
and tidy loaders with documented columns and units."""

from . import registry
from .registry import *  # noqa: F403
from .registry import __all__ as _registry_all

__all__ = ["registry", *_registry_all]
