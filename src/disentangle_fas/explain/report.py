"""The Markdown report of ``disentangle-fas explain``: Grad-CAM picture, probe table, plots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from disentangle_fas.explain.disentanglement import DisentanglementProbes
from disentangle_fas.model import ModelConfig

__all__ = ["CamSample", "ExplainReport"]


@dataclass(frozen=True)
class CamSample:
    """One column of the Grad-CAM picture.

    Attributes:
        domain: domain name.
        label: ground truth, 1 live / 0 spoof.
        score: P(live).
        explained: the class the map explains (1 live, 0 spoof).
    """

    domain: str
    label: int
    score: float
    explained: int


def _cls(value: int) -> str:
    return "live" if value == 1 else "spoof"


@dataclass(frozen=True)
class ExplainReport:
    """Everything ``report.md`` says about one checkpoint on one set of samples.

    Attributes:
        checkpoint: the checkpoint's path as given.
        config: the model's configuration.
        threshold: decision threshold on P(live).
        threshold_strategy: how it was chosen.
        cam_data: which samples the Grad-CAM picture shows.
        cam_image: file name of the Grad-CAM grid, relative to the report.
        cam_method: e.g. ``"gradcam"``.
        cam_layers: the target layers of E_L (one picture row each), with their sizes.
        cam_target: which class the maps explain (``"predicted"``, ``"live"``, ...).
        cam_samples: the columns of the picture.
        probe_data: which samples the probes use.
        probes: the probe results.
        projection_images: file names of the 2-D projection plots.
        cam_notes: remarks on the Grad-CAM picture (e.g. a 1 x 1 target layer).
        info: the checkpoint's stored information (task, sources, target, step, ...).
    """

    checkpoint: str
    config: ModelConfig
    threshold: float
    threshold_strategy: str
    cam_data: str
    cam_image: str
    cam_method: str
    cam_layers: Sequence[str]
    cam_target: str
    cam_samples: Sequence[CamSample]
    probe_data: str
    probes: DisentanglementProbes
    projection_images: Sequence[str] = ()
    cam_notes: Sequence[str] = ()
    info: dict[str, object] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """Render the report."""
        c = self.config
        lines = [
            "# Explainability report",
            "",
            f"- checkpoint: `{self.checkpoint}`",
            f"- model: variant `{c.variant}`, ResNet-{c.depth} encoders, "
            f"{c.image_size} px input, {c.num_domains} source domains",
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
            "| # | domain | ground truth | P(live) | decision | map explains |",
            "| ---: | --- | --- | ---: | --- | --- |",
        ]
        for i, s in enumerate(self.cam_samples):
            decision = _cls(int(s.score >= self.threshold))
            lines.append(
                f"| {i} | {s.domain} | {_cls(s.label)} | {s.score:.3f} | {decision} "
                f"| {_cls(s.explained)} |"
            )
        lines += [
            "",
            "## Disentanglement probes",
            "",
            f"Samples: {self.probe_data}. A multinomial logistic regression is fitted on "
            "standardised, globally pooled features of each encoder and scored on held-out "
            "samples (stratified split). A disentangled model reads liveness only from f_L "
            "and the domain only from f_D; elsewhere the numbers should sit near chance. "
            "All numbers are percentages.",
            "",
            self.probes.to_markdown().rstrip("\n"),
        ]
        if self.projection_images:
            lines += ["", "## 2-D projections", ""]
            lines += [f"![projection]({p})" for p in self.projection_images]
        return "\n".join(lines) + "\n"
