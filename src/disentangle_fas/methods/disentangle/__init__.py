"""The paper's method, "Learning facial liveness representation for domain generalized face
anti-spoofing": three encoders (liveness E_L, content E_C, domain E_D) pulled apart by
confusion losses.

=================================  ==========================================================
name                               role
=================================  ==========================================================
DisentangledFAS                    the model (checkpoint kind ``disentangle``)
ModelConfig                        every setting and its default (variant, LMCL, weights...)
DisentanglementObjective           the six weighted terms, with Table 3's switches
LossWeights, ObjectiveTerms        the terms' weights; the total and each term
DisentanglementMethod              the training adapter (``--method disentangle``)
=================================  ==========================================================

The Table 3 rows are presets of the ``variant`` setting, accepted by name by
``protocol --variants``: ``full``, ``baseline``, ``content``, ``domain``.
"""

from disentangle_fas.contracts import Variant
from disentangle_fas.methods.common.inputs import (
    input_spec_of,
    normalization_stats,
    normalize_layer,
)
from disentangle_fas.methods.disentangle.config import LOSS_WEIGHT_FIELDS, ModelConfig
from disentangle_fas.methods.disentangle.method import (
    DisentanglementMethod,
    configure,
    needs_content,
)
from disentangle_fas.methods.disentangle.model import DisentangledFAS
from disentangle_fas.methods.disentangle.objective import (
    DisentangledFeatures,
    DisentanglementObjective,
    LossWeights,
    ObjectiveTerms,
)
from disentangle_fas.methods.registry import MethodBuilder, register_method

__all__ = [
    "BUILDER",
    "LOSS_WEIGHT_FIELDS",
    "DisentangledFAS",
    "DisentangledFeatures",
    "DisentanglementMethod",
    "DisentanglementObjective",
    "LossWeights",
    "ModelConfig",
    "ObjectiveTerms",
    "Variant",
    "input_spec_of",
    "normalization_stats",
    "normalize_layer",
]

#: ``--method disentangle``: its settings are :class:`ModelConfig`'s fields; the Table 3
#: rows are its named variants.
BUILDER = register_method(
    "disentangle",
    MethodBuilder(
        DisentanglementMethod,
        config_cls=ModelConfig,
        configure=configure,
        needs_content=needs_content,
        variants={v.value: {"variant": v.value} for v in Variant},
        summary="the paper's model: E_L, E_C, E_D and six losses (Table 3 variants)",
    ),
)
