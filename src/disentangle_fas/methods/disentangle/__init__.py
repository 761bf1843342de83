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
removal_terms                      the ``domain_removal`` mechanisms (``removal``)
erase_and_refit                    the ``erase="leace"`` post-training step (``erase``)
=================================  ==========================================================

The Table 3 rows are presets of the ``variant`` setting, accepted by name by
``protocol --variants``: ``full``, ``baseline``, ``content``, ``domain``. The removal
mechanisms are presets too: ``full-adversarial``, ``full-hsic``, ``full-orthogonal`` (the
full model with ``domain_removal`` set), ``full-leace`` and ``baseline-leace`` (``erase``
set); see :data:`REMOVAL_VARIANTS`.
"""

from disentangle_fas.contracts import Variant
from disentangle_fas.methods.common.inputs import (
    input_spec_of,
    normalization_stats,
    normalize_layer,
)
from disentangle_fas.methods.disentangle.config import LOSS_WEIGHT_FIELDS, ModelConfig
from disentangle_fas.methods.disentangle.erase import erase_and_refit
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
from disentangle_fas.methods.disentangle.removal import removal_terms
from disentangle_fas.methods.registry import MethodBuilder, register_method

#: The removal mechanisms as named variants of ``protocol --variants`` (their settings).
REMOVAL_VARIANTS: dict[str, dict[str, str]] = {
    "full-adversarial": {"variant": "full", "domain_removal": "adversarial"},
    "full-hsic": {"variant": "full", "domain_removal": "hsic"},
    "full-orthogonal": {"variant": "full", "domain_removal": "orthogonal"},
    "full-leace": {"variant": "full", "erase": "leace"},
    "baseline-leace": {"variant": "baseline", "erase": "leace"},
}

__all__ = [
    "BUILDER",
    "LOSS_WEIGHT_FIELDS",
    "REMOVAL_VARIANTS",
    "DisentangledFAS",
    "DisentangledFeatures",
    "DisentanglementMethod",
    "DisentanglementObjective",
    "LossWeights",
    "ModelConfig",
    "ObjectiveTerms",
    "Variant",
    "erase_and_refit",
    "input_spec_of",
    "normalization_stats",
    "normalize_layer",
    "removal_terms",
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
        variants={**{v.value: {"variant": v.value} for v in Variant}, **REMOVAL_VARIANTS},
        summary="the paper's model: E_L, E_C, E_D and six losses (Table 3 variants, "
        "removal mechanisms)",
    ),
)
