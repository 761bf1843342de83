"""Explainability: Grad-CAM of the liveness path and probes of disentanglement.

* :func:`liveness_gradcam` -- class activation maps of E_L + C_L (``grad-cam`` package);
  :func:`save_gradcam_grid` draws them as in the paper's Fig. 2.
* :func:`extract_features` + :func:`probe_disentanglement` -- linear probes of liveness
  and domain on the pooled f_L, f_C, f_D, with chance levels
  (:class:`DisentanglementProbes` renders as a Markdown table).
* :func:`save_projection_plot` -- 2-D PCA / t-SNE of each representation.
* ``disentangle-fas explain`` (:mod:`disentangle_fas.explain.cli`) runs all of it on a
  checkpoint.

Optional dependencies (grad-cam, matplotlib, scikit-learn for t-SNE) are imported
lazily: ``pip install "disentangle-fas[explain]"``.
"""

from disentangle_fas.explain.disentanglement import (
    DisentanglementProbes,
    ProbeRow,
    ProbeTarget,
    probe_disentanglement,
)
from disentangle_fas.explain.features import (
    REPRESENTATIONS,
    SYMBOLS,
    PooledFeatures,
    Representation,
    extract_features,
)
from disentangle_fas.explain.gradcam import (
    CAM_METHODS,
    GradCAMResult,
    LivenessLogits,
    liveness_gradcam,
    resolve_target_layer,
)
from disentangle_fas.explain.grid import overlay_heatmap, save_gradcam_grid
from disentangle_fas.explain.probes import (
    LinearProbe,
    ProbeScore,
    binary_auc,
    evaluate_probe,
    fit_linear_probe,
    stratified_split,
)
from disentangle_fas.explain.projection import Projection, project_2d, save_projection_plot
from disentangle_fas.explain.report import CamSample, DomainScore, ExplainReport

__all__ = [
    "CAM_METHODS",
    "REPRESENTATIONS",
    "SYMBOLS",
    "CamSample",
    "DisentanglementProbes",
    "DomainScore",
    "ExplainReport",
    "GradCAMResult",
    "LinearProbe",
    "LivenessLogits",
    "PooledFeatures",
    "ProbeRow",
    "ProbeScore",
    "ProbeTarget",
    "Projection",
    "Representation",
    "binary_auc",
    "evaluate_probe",
    "extract_features",
    "fit_linear_probe",
    "liveness_gradcam",
    "overlay_heatmap",
    "probe_disentanglement",
    "project_2d",
    "resolve_target_layer",
    "save_gradcam_grid",
    "save_projection_plot",
    "stratified_split",
]
