"""What the methods share, in one neutral room: configs and their settings, the context a
builder gets, the base of the compared methods' models, the training adapters' bases and
the models' input normalisation. No method lives here.
"""

from typing import TYPE_CHECKING

from disentangle_fas._lazy import lazy_exports

if TYPE_CHECKING:
    from disentangle_fas.methods.common.config import DictConfig, check_finite, check_method_basics
    from disentangle_fas.methods.common.context import CONTEXT_FIELDS, MethodContext
    from disentangle_fas.methods.common.inputs import (
        input_spec_of,
        normalization_stats,
        normalize_layer,
    )
    from disentangle_fas.methods.common.model import (
        MethodConfigLike,
        MethodModel,
        check_in_features,
    )
    from disentangle_fas.methods.common.settings import (
        Setting,
        SettingsError,
        coerce_settings,
        parse_assignment,
        settings_of,
    )
    from disentangle_fas.methods.common.training import ComparedMethod, ObjectiveMethod

__all__ = [
    "CONTEXT_FIELDS",
    "ComparedMethod",
    "DictConfig",
    "MethodConfigLike",
    "MethodContext",
    "MethodModel",
    "ObjectiveMethod",
    "Setting",
    "SettingsError",
    "check_finite",
    "check_in_features",
    "check_method_basics",
    "coerce_settings",
    "input_spec_of",
    "normalization_stats",
    "normalize_layer",
    "parse_assignment",
    "settings_of",
]

#: public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "DictConfig": "disentangle_fas.methods.common.config",
    "check_finite": "disentangle_fas.methods.common.config",
    "check_method_basics": "disentangle_fas.methods.common.config",
    "CONTEXT_FIELDS": "disentangle_fas.methods.common.context",
    "MethodContext": "disentangle_fas.methods.common.context",
    "input_spec_of": "disentangle_fas.methods.common.inputs",
    "normalization_stats": "disentangle_fas.methods.common.inputs",
    "normalize_layer": "disentangle_fas.methods.common.inputs",
    "MethodConfigLike": "disentangle_fas.methods.common.model",
    "MethodModel": "disentangle_fas.methods.common.model",
    "check_in_features": "disentangle_fas.methods.common.model",
    "Setting": "disentangle_fas.methods.common.settings",
    "SettingsError": "disentangle_fas.methods.common.settings",
    "coerce_settings": "disentangle_fas.methods.common.settings",
    "parse_assignment": "disentangle_fas.methods.common.settings",
    "settings_of": "disentangle_fas.methods.common.settings",
    "ComparedMethod": "disentangle_fas.methods.common.training",
    "ObjectiveMethod": "disentangle_fas.methods.common.training",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
