"""Probes against references: what "removed" means is "below the untrained encoder", not
"near chance".

On the synthetic benchmark (as on real data) the capture domain is visible in the pixels
themselves, so a linear probe reads it from raw pixels and from an encoder that was never
trained. A representation has had the domain *removed* only if a probe reads less of it
there than from those references. :func:`reference_probes` runs the same probes, with the
same split, on

* ``pixels``: the images average-pooled to ``pixel_size x pixel_size`` and flattened;
* ``untrained``: the same architecture at a random initialisation (the model's registered
  kind rebuilt from its config, else a copy whose layers are reset);

and :func:`reference_table` prints every probe of the model beside them, with the
kernel dependence (:func:`~disentangle_fas.losses.hsic`) of each representation and the
domain labels.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from disentangle_fas.contracts import LivenessModel
from disentangle_fas.explain.disentanglement import (
    DisentanglementProbes,
    ProbeTarget,
    probe_disentanglement,
)
from disentangle_fas.explain.features import SYMBOLS, PooledFeatures, extract_features
from disentangle_fas.explain.probes import DEFAULT_TEST_FRACTION
from disentangle_fas.losses.hsic import hsic
from disentangle_fas.registry import kind_of
from disentangle_fas.types import FASSample

__all__ = [
    "ReferenceProbes",
    "pixel_features",
    "reference_probes",
    "reference_table",
    "untrained_copy",
]

#: Side of the pooled image the pixel reference probes (8 x 8 x 3 = 192 features).
PIXEL_SIZE = 8


def pixel_features(
    data: Dataset[FASSample] | Iterable[FASSample], *, size: int = PIXEL_SIZE, batch_size: int = 64
) -> PooledFeatures:
    """The images themselves as features: average-pooled to ``size x size``, flattened.

    Args:
        data: samples (as :func:`~disentangle_fas.explain.extract_features` takes them).
        size: side of the pooled image.
        batch_size: images per batch.

    Returns:
        :class:`PooledFeatures` with ``liveness`` the ``(N, 3 size^2)`` pixels (the other
        representations ``None``).

    Example:
        >>> from disentangle_fas.synthetic import SyntheticFAS
        >>> pixel_features(SyntheticFAS(["O"], samples_per_domain=4, image_size=16)).liveness.shape
        torch.Size([4, 192])
    """

    class _Pixels(LivenessModel):
        def __init__(self) -> None:
            super().__init__()
            self.anchor = nn.Parameter(torch.zeros(()))  # extract_features reads a device

        def liveness_path(self):  # type: ignore[no-untyped-def]  # never called
            raise NotImplementedError

        @property
        def input_spec(self) -> None:
            return None

        def representations(self, images: Tensor) -> dict[str, Tensor]:
            return {"liveness": F.adaptive_avg_pool2d(images, size).flatten(1)}

    return extract_features(_Pixels(), data, batch_size=batch_size, device="cpu")


def untrained_copy(model: LivenessModel, *, seed: int = 0) -> LivenessModel:
    """The same architecture at a random initialisation.

    A model of a registered kind with a config is rebuilt from it (as a fresh run starts);
    any other is deep-copied and every layer with ``reset_parameters`` is reset (batch-norm
    statistics too).

    Args:
        model: a trained model (left unchanged).
        seed: torch's seed for the initialisation (the global generator is restored).

    Returns:
        The untrained model, in eval mode, on ``model``'s device.
    """
    device = next(model.parameters()).device
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        kind, config = kind_of(model), getattr(model, "config", None)
        if kind is not None and config is not None:
            fresh: LivenessModel = kind.model_cls.from_config(config, warn_random=False)  # type: ignore[attr-defined]
        else:
            fresh = copy.deepcopy(model)
            for module in fresh.modules():
                for name in ("reset_parameters", "reset_running_stats"):
                    reset = getattr(module, name, None)
                    if callable(reset):
                        reset()
    finally:
        torch.random.set_rng_state(state)
    return fresh.to(device).eval()


@dataclass(frozen=True)
class ReferenceProbes:
    """The model's probes and the same probes on its references.

    Attributes:
        model: the trained model's probes.
        pixels: the probes of the pooled pixels (one representation, ``liveness``).
        untrained: the untrained copy's probes (the same representations as the model).
        hsic_domain: HSIC of each representation (and of the references) with the one-hot
            domain labels: ``{"model f_L": ..., "untrained f_L": ..., "pixels": ...}``.
    """

    model: DisentanglementProbes
    pixels: DisentanglementProbes
    untrained: DisentanglementProbes
    hsic_domain: dict[str, float]


def _domain_hsic(features: PooledFeatures, prefix: str, limit: int) -> dict[str, float]:
    onehot = F.one_hot(features.domains - features.domains.min()).double()[:limit]
    return {
        f"{prefix}{SYMBOLS[name]}": float(hsic(feats.double()[:limit], onehot))
        for name, feats in features.available()
    }


def reference_probes(
    model: LivenessModel,
    data: Dataset[FASSample] | Iterable[FASSample],
    *,
    features: PooledFeatures | None = None,
    seed: int = 0,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    batch_size: int = 32,
    device: str | torch.device | None = None,
    hsic_samples: int = 512,
) -> ReferenceProbes:
    """Probe ``model``'s representations and its two references on the same samples and
    split (see the module docstring).

    Args:
        model: the trained model.
        data: the probe samples.
        features: ``model``'s features on ``data`` when already extracted.
        seed: the split's seed (and the untrained copy's).
        test_fraction: share of the samples the probes are scored on.
        batch_size: images per batch.
        device: where the encoders run.
        hsic_samples: the first samples HSIC uses (its cost grows with ``n^2``).

    Returns:
        :class:`ReferenceProbes`.
    """
    feats = features or extract_features(model, data, batch_size=batch_size, device=device)
    untrained = extract_features(untrained_copy(model, seed=seed), data, batch_size=batch_size,
                                 device=device)  # fmt: skip
    pixels = pixel_features(data)

    def probes(f: PooledFeatures) -> DisentanglementProbes:
        return probe_disentanglement(f, seed=seed, test_fraction=test_fraction)

    dependence = {
        **_domain_hsic(feats, "model ", hsic_samples),
        **_domain_hsic(untrained, "untrained ", hsic_samples),
        "pixels": _domain_hsic(pixels, "", hsic_samples)["f_L"],
    }
    return ReferenceProbes(probes(feats), probes(pixels), probes(untrained), dependence)


def _pct(value: float) -> str:
    return f"{100.0 * value:.1f}"


def reference_table(refs: ReferenceProbes) -> str:
    """Markdown: every probe's balanced accuracy beside the pixel and untrained references
    and chance, and what it says; then HSIC with the domain labels.

    The verdict for a probe that a disentangled model should bring to chance (domain from
    f_L, liveness from f_D, ...) is "below the untrained encoder" when the trained
    representation's balanced accuracy is lower than the untrained one's, else "not
    removed"; for the probes that should be high, "kept" or "lost" against the untrained.
    """
    lines = [
        "| label probed | features | trained | untrained | pixels | chance (1/K) | reading |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in refs.model.rows:
        target: ProbeTarget = row.target
        base = refs.untrained.get(target, row.representation)
        pix = refs.pixels.get(target, "liveness")
        trained = row.score.balanced_accuracy
        if base is None:
            reading = "–"
        elif row.expected == "chance":
            below = trained < base.balanced_accuracy
            reading = "below the untrained encoder" if below else "not removed"
        else:
            reading = "kept" if trained >= base.balanced_accuracy else "lower than untrained"
        lines.append(
            f"| {target} | {SYMBOLS[row.representation]} | {_pct(trained)} | "
            f"{'–' if base is None else _pct(base.balanced_accuracy)} | "
            f"{'–' if pix is None else _pct(pix.balanced_accuracy)} | "
            f"{_pct(row.score.balanced_chance)} | {reading} |"
        )
    hsic_cells = ", ".join(f"{k} {v:.4f}" for k, v in refs.hsic_domain.items())
    lines += [
        "",
        f"HSIC with the domain labels (Gaussian kernels, median bandwidths): {hsic_cells}.",
    ]
    return "\n".join(lines) + "\n"
