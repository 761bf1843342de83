"""The Markdown report of ``disentangle-fas explain``: Grad-CAM picture, probe table, plots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CamSample", "DomainScore", "ExplainReport", "describe_model"]


@dataclass(frozen=True)
class CamSample:
    """One column of the Grad-CAM picture.

    Attributes:
        domain: domain name.
        label: ground truth, 1 live / 0 spoof.
        score: P(live).
        explained: the class the map explains (1 live, 0 spoof).
        compared: P(live) of each compared model (``--compare``), in order.
    """

    domain: str
    label: int
    score: float
    explained: int
    compared: tuple[float, ...] = ()


@dataclass(frozen=True)
class DomainScore:
    """How the liveness classifier C_L does on the probe samples of one domain.

    Attributes:
        domain: domain name (``"all"`` for every sample).
        n: number of samples.
        auc: ROC AUC of P(live) (``None`` when the domain holds one class only).
        accuracy: share of samples decided correctly at the checkpoint's threshold.
    """

    domain: str
    n: int
    auc: float | None
    accuracy: float


def describe_model(kind: str, config: Any) -> str:
    """One line on a checkpoint's model, from whatever its config holds (any method).

    Args:
        kind: the checkpoint kind (the method's name), ``""`` when unknown.
        config: the model's config object, a dict (custom models) or ``None``.

    Example:
        >>> describe_model("ssdg-r", {"depth": 18, "num_domains": 3})
        '`ssdg-r`, ResNet-18 trunk, 3 source domains'
    """

    def get(name: str) -> Any:
        return config.get(name) if isinstance(config, dict) else getattr(config, name, None)

    parts = [f"`{kind}`" if kind else "model"]
    if get("variant") is not None:
        parts.append(f"variant `{get('variant')}`")
    if get("backbone"):
        parts.append(f"{get('backbone')} trunk")
    elif get("depth") is not None:
        parts.append(f"ResNet-{get('depth')} trunk")
    if get("image_size") is not None:
        parts.append(f"{get('image_size')} px input")
    if get("num_domains") is not None:
        parts.append(f"{get('num_domains')} source domains")
    return ", ".join(parts)


def _cls(value: int) -> str:
    return "live" if value == 1 else "spoof"


@dataclass(frozen=True)
class ExplainReport:
    """Everything ``report.md`` says about one checkpoint on one set of samples.

    Attributes:
        checkpoint: the checkpoint's path as given.
        config: the model's configuration (any method's config, or a custom model's dict).
        threshold: decision threshold on P(live).
        threshold_strategy: how it was chosen.
        cam_data: which samples the Grad-CAM picture shows.
        cam_image: file name of the Grad-CAM grid, relative to the report.
        cam_method: e.g. ``"gradcam"``.
        cam_layers: the target layers of E_L (one picture row each), with their sizes.
        cam_target: which class the maps explain (``"predicted"``, ``"live"``, ...).
        cam_samples: the columns of the picture.
        probe_data: which samples the probes are fitted and scored on.
        measure: the measured disentanglement as Markdown
            (:func:`~disentangle_fas.explain.measure_markdown.measure_table`).
        projection_images: file names of the 2-D projection plots.
        compared: names of the models compared in the Grad-CAM picture.
        cam_notes: remarks on the Grad-CAM picture (e.g. a 1 x 1 target layer).
        classifier: C_L's AUC and accuracy on the Grad-CAM data, per domain.
        classifier_data: which samples that table uses.
        info: the checkpoint's stored information (task, sources, target, step, ...).
    """

    checkpoint: str
    config: Any
    threshold: float
    threshold_strategy: str
    cam_data: str
    cam_image: str
    cam_method: str
    cam_layers: Sequence[str]
    cam_target: str
    cam_samples: Sequence[CamSample]
    probe_data: str
    measure: str
    projection_images: Sequence[str] = ()
    cam_notes: Sequence[str] = ()
    classifier: Sequence[DomainScore] = ()
    compared: Sequence[str] = ()
    info: dict[str, object] = field(default_factory=dict)
    kind: str = ""
    classifier_data: str = ""

    def to_markdown(self) -> str:
        """Render the report."""
        model = describe_model(self.kind, self.config)
        lines = [
            "# Explainability report",
            "",
            f"- checkpoint: `{self.checkpoint}`",
            f"- model: {model}",
            f"- decision threshold on P(live): {self.threshold:.3f} ({self.threshold_strategy})",
        ]
        for key in ("task", "sources", "target", "step"):
            if key in self.info:
                lines.append(f"- {key}: {self.info[key]}")
        lines += [
            "",
            "## Grad-CAM of the liveness path (E_L + C_L)",
            "",
            f"Samples: {self.cam_data}. Method `{self.cam_method}` on E_L's "
            + ", ".join(f"`{layer}`" for layer in self.cam_layers)
            + f" (one row each); each map explains the {self.cam_target} class. "
            "Frames: green = live, red = spoof ground truth; titles give P(live).",
            "",
            f"![Grad-CAM]({self.cam_image})",
            "",
            *[f"Note: {n}\n" for n in self.cam_notes],
            "| # | domain | ground truth | P(live) | decision | map explains |"
            + "".join(f" P(live), {name} |" for name in self.compared),
            "| ---: | --- | --- | ---: | --- | --- |" + " ---: |" * len(self.compared),
        ]
        for i, s in enumerate(self.cam_samples):
            decision = _cls(int(s.score >= self.threshold))
            lines.append(
                f"| {i} | {s.domain} | {_cls(s.label)} | {s.score:.3f} | {decision} "
                f"| {_cls(s.explained)} |" + "".join(f" {v:.3f} |" for v in s.compared)
            )
        if self.classifier:
            lines += [
                "",
                "## The liveness classifier per domain",
                "",
                f"Samples: {self.classifier_data}. P(live) from E_L + C_L; accuracy at the "
                "threshold above (percentages).",
                "",
                "| domain | samples | AUC | accuracy |",
                "| --- | ---: | ---: | ---: |",
            ]
            lines += [
                f"| {d.domain} | {d.n} | {'–' if d.auc is None else f'{100 * d.auc:.1f}'} "
                f"| {100 * d.accuracy:.1f} |"
                for d in self.classifier
            ]
        lines += [
            "",
            "## Measured disentanglement, against references",
            "",
            f"Samples: {self.probe_data}. Each label (liveness; domain; attack type among "
            "the spoof samples) is read from each representation by each probe kind (linear: "
            "logistic regression; mlp: one hidden layer) fitted on the train features and "
            "scored on the held-out ones only. Beside "
            "every figure: the same measure on the same architecture at a random "
            "initialisation (untrained) and on the images pooled to 8x8 (pixels). The domain "
            "is visible in the pixels, so a representation has had it removed only where a "
            "probe reads less of it than from the untrained encoder ('below untrained'), not "
            "where it is near chance.",
            "",
            self.measure.rstrip("\n"),
        ]
        if self.projection_images:
            lines += ["", "## 2-D projections", ""]
            lines += [f"![projection]({p})" for p in self.projection_images]
        return "\n".join(lines) + "\n"
