"""SSDG-R's training adapter and its registration (``--method ssdg-r``)."""

from __future__ import annotations

from typing import Any

from disentangle_fas.methods.common.context import MethodContext
from disentangle_fas.methods.common.training import ComparedMethod
from disentangle_fas.methods.ssdg.config import OFFICIAL_LOSS_WEIGHTS, SSDGConfig
from disentangle_fas.methods.ssdg.model import SSDGR
from disentangle_fas.methods.ssdg.objective import SSDGObjective

__all__ = ["SSDGMethod", "configure"]


def configure(context: MethodContext) -> SSDGConfig:
    """SSDG-R's config for a run: the official loss weights of the target when it is O, C,
    I or M (:data:`OFFICIAL_LOSS_WEIGHTS`), then the context's settings over them.
    """
    base: dict[str, Any] = dict(
        num_domains=context.num_domains,
        depth=context.depth,
        image_size=context.image_size,
        backbone=context.backbone,
    )
    target = context.target_name.upper()
    if target in OFFICIAL_LOSS_WEIGHTS:
        return SSDGConfig.official(target, **base, **context.settings)
    return SSDGConfig(**base, **context.settings)


class SSDGMethod(ComparedMethod):
    """SSDG-R: classification, single-side adversarial and asymmetric triplet terms.

    Args:
        context: the run (its settings are :class:`SSDGConfig` fields).
        config: the config to use; :func:`configure` of ``context`` when ``None``.
    """

    model_cls = SSDGR
    objective_cls = SSDGObjective
    configure = staticmethod(configure)
    config: SSDGConfig
    model: SSDGR
    objective: SSDGObjective
