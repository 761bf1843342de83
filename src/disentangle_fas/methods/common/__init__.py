"""What the methods share, in one neutral room: configs and their settings, the context a
builder gets, the base of the compared methods' models, the training adapters' bases and
the models' input normalisation. No method lives here.
"""

from disentangle_fas.methods.common.config import DictConfig, check_finite, check_method_basics
from disentangle_fas.methods.common.context import CONTEXT_FIELDS, MethodContext
from disentangle_fas.methods.common.inputs import (
    input_spec_of,
    normalization_stats,
    normalize_layer,
)
from disentangle_fas.methods.common.model import MethodConfigLike, MethodModel, check_in_features
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
