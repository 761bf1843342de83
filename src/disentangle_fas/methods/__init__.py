"""Methods: one folder each, and the registry that finds them.

========================  ===============================================================
folder / name             method
========================  ===============================================================
``disentangle/``          the paper's model (``disentangle``): three encoders, six losses
``ssdg/``                 SSDG-R (``ssdg-r``; Jia et al., CVPR 2020)
``ssan/``                 SSAN-R (``ssan-r``; Wang et al., CVPR 2022)
``safas/``                SA-FAS (``sa-fas``; Sun et al., CVPR 2023)
``gac_fas/``              GAC-FAS (``gac-fas``; Le and Woo, CVPR 2024)
``common/``               what methods share: config and settings machinery, the base of
                          the compared methods' models, the training adapters' bases
========================  ===============================================================

A method folder owns its config (every default declared once, with its source), its model
(a registered checkpoint kind), its objective and its training adapter; it imports the
parts (encoders, heads, losses, :mod:`disentangle_fas.nn`, targets), the foundation and
:mod:`disentangle_fas.methods.common`, never a sibling and never the training harness.

A method of one's own is registered with :func:`register_method`, from a script or from an
installed package through the entry-point group ``disentangle_fas.methods``; it is then
usable wherever a built-in is (``train --method``, ``protocol --variants``, ``predict``,
``export``, ``explain``). Its settings are the fields of its config (``--set key=value``).
"""

from typing import TYPE_CHECKING

from disentangle_fas._lazy import lazy_exports

if TYPE_CHECKING:
    from disentangle_fas.methods.common.context import CONTEXT_FIELDS, MethodContext
    from disentangle_fas.methods.common.settings import Setting, SettingsError
    from disentangle_fas.methods.registry import (
        ENTRY_POINT_GROUP,
        MethodBuilder,
        available_methods,
        load_methods,
        method_builder,
        register_method,
        resolve_variant,
        variant_names,
    )
    from disentangle_fas.registry import register_model_kind

__all__ = [
    "CONTEXT_FIELDS",
    "ENTRY_POINT_GROUP",
    "MethodBuilder",
    "MethodContext",
    "Setting",
    "SettingsError",
    "available_methods",
    "load_methods",
    "method_builder",
    "register_method",
    "register_model_kind",
    "resolve_variant",
    "variant_names",
]

#: public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "CONTEXT_FIELDS": "disentangle_fas.methods.common.context",
    "MethodContext": "disentangle_fas.methods.common.context",
    "Setting": "disentangle_fas.methods.common.settings",
    "SettingsError": "disentangle_fas.methods.common.settings",
    "ENTRY_POINT_GROUP": "disentangle_fas.methods.registry",
    "MethodBuilder": "disentangle_fas.methods.registry",
    "available_methods": "disentangle_fas.methods.registry",
    "load_methods": "disentangle_fas.methods.registry",
    "method_builder": "disentangle_fas.methods.registry",
    "register_method": "disentangle_fas.methods.registry",
    "resolve_variant": "disentangle_fas.methods.registry",
    "variant_names": "disentangle_fas.methods.registry",
    "register_model_kind": "disentangle_fas.registry",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
