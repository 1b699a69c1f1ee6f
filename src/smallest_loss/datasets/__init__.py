"""External datasets: a registry pinned by URL and sha256, verified download or offline mirror,
and tidy loaders with documented columns and units. Modules that add a family of files
(``gadre2024``, ``epoch_costs``, ``dclm``) register their entries in ``registry.REGISTRY`` when imported here."""

from . import dclm, epoch_costs, gadre2024, registry
from .dclm import *  # noqa: F403
from .dclm import __all__ as _dclm_all
from .epoch_costs import *  # noqa: F403
from .epoch_costs import __all__ as _epoch_costs_all
from .gadre2024 import *  # noqa: F403
from .gadre2024 import __all__ as _gadre_all
from .registry import *  # noqa: F403
from .registry import __all__ as _registry_all

__all__ = ["registry", "gadre2024", "epoch_costs", "dclm", *_registry_all, *_gadre_all, *_epoch_costs_all,
           *_dclm_all]
