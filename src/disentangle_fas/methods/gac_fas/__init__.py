"""GAC-FAS, a comparison method: "Gradient Alignment for Cross-Domain Face Anti-Spoofing"
(Le and Woo, CVPR 2024) with a ResNet-18 trunk, built from reusable parts.

==========================================  ============================================
name                                        role
==========================================  ============================================
GACFAS, GACFASOutput, CosineLogistic        the network: trunk, pooling, cosine logit
:func:`domain_losses`                       each source domain's logistic loss / K
GACFASObjective, GACFASTerms                ``sum_k L_k + 0.2 SupCon`` on two views
:func:`ascent_directions`                   ``eps_k = rho T^2 g_k / ||T g_k|| - alpha g``
:func:`gac_backward`                        the step: ERM gradient + mean gradient at the
                                            ascent points
:func:`random_cutout`                       the official cutout of a view
GACFASConfig                                every hyperparameter and its source
GACFASMethod                                the training adapter (``--method gac-fas``);
                                            it owns its backward
==========================================  ============================================

Labels: 1 = live, 0 = spoof; scores are P(live) = sigmoid(s cos(f, w)).
"""

from disentangle_fas.methods.gac_fas.config import OFFICIAL_OPTIMIZER, GACFASConfig
from disentangle_fas.methods.gac_fas.method import GACFASMethod, configure
from disentangle_fas.methods.gac_fas.model import GACFAS, CosineLogistic, GACFASOutput
from disentangle_fas.methods.gac_fas.objective import GACFASObjective, GACFASTerms, domain_losses
from disentangle_fas.methods.gac_fas.step import ascent_directions, gac_backward
from disentangle_fas.methods.gac_fas.views import random_cutout
from disentangle_fas.methods.registry import MethodBuilder, register_method

__all__ = [
    "BUILDER",
    "GACFAS",
    "OFFICIAL_OPTIMIZER",
    "CosineLogistic",
    "GACFASConfig",
    "GACFASMethod",
    "GACFASObjective",
    "GACFASOutput",
    "GACFASTerms",
    "ascent_directions",
    "domain_losses",
    "gac_backward",
    "random_cutout",
]

#: ``--method gac-fas``: its settings are :class:`GACFASConfig`'s fields.
BUILDER = register_method(
    "gac-fas",
    MethodBuilder(
        GACFASMethod,
        config_cls=GACFASConfig,
        configure=configure,
        summary="GAC-FAS (Le and Woo, CVPR 2024): per-domain ascent aligned with ERM",
    ),
)
