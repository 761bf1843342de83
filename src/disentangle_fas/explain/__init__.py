"""Explainability: Grad-CAM of the liveness path and measured disentanglement.

* :func:`liveness_gradcam` -- class activation maps of E_L + C_L (``grad-cam`` package);
  :func:`save_gradcam_grid` draws them as in the paper's Fig. 2.
* :func:`measure_disentanglement` -- how much liveness, domain and attack-type information
  each representation (f_L, f_C, f_D) carries: linear and MLP probes fitted on source-train
  features and scored on held-out source-val features, and kernel dependences (CKA), each
  beside the untrained architecture and the pixels (:func:`measure_table` renders it).
* :func:`extract_features` + :func:`probe_disentanglement` -- the single-split linear
  probes beside chance.
* :func:`save_projection_plot` -- 2-D PCA / t-SNE of each representation.
* ``disentangle-fas explain`` (:mod:`disentangle_fas.explain.cli`) runs all of it on a
  checkpoint.

Optional dependencies (grad-cam, matplotlib, scikit-learn for t-SNE) are imported
lazily: ``pip install "disentangle-fas[explain]"``. The package's names are imported on
first use.
"""

from typing import TYPE_CHECKING

from disentangle_fas._lazy import lazy_exports

if TYPE_CHECKING:
    from disentangle_fas.explain.dependence import (
        kernel_cka,
    )
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
        GradCAMResult,
        LivenessLogits,
        liveness_gradcam,
        resolve_target_layer,
    )
    from disentangle_fas.explain.grid import (
        overlay_heatmap,
        save_gradcam_grid,
    )
    from disentangle_fas.explain.heldout import (
        HeldOutScore,
        MLPProbe,
        balanced_accuracy,
        fit_mlp_probe,
        macro_auc,
        score_heldout,
        usable_information,
    )
    from disentangle_fas.explain.measure import (
        measure_disentanglement,
        measure_features,
    )
    from disentangle_fas.explain.measure_markdown import (
        measure_dict,
        measure_table,
    )
    from disentangle_fas.explain.measure_runs import (
        STUDY_MEASURES,
        StudyMeasure,
        measure_row,
        measure_run,
        runs_table,
    )
    from disentangle_fas.explain.measure_types import (
        DependenceRow,
        DisentanglementMeasure,
        MeasureRow,
        Spread,
    )
    from disentangle_fas.explain.names import (
        CAM_METHODS,
        PROBE_KINDS,
        ProbeKind,
    )
    from disentangle_fas.explain.probes import (
        LinearProbe,
        ProbeScore,
        binary_auc,
        evaluate_probe,
        fit_linear_probe,
        stratified_split,
    )
    from disentangle_fas.explain.projection import (
        Projection,
        project_2d,
        save_projection_plot,
    )
    from disentangle_fas.explain.report import (
        CamSample,
        DomainScore,
        ExplainReport,
    )

__all__ = [
    "CAM_METHODS",
    "PROBE_KINDS",
    "REPRESENTATIONS",
    "STUDY_MEASURES",
    "SYMBOLS",
    "CamSample",
    "DependenceRow",
    "DisentanglementMeasure",
    "DisentanglementProbes",
    "DomainScore",
    "ExplainReport",
    "GradCAMResult",
    "HeldOutScore",
    "LinearProbe",
    "LivenessLogits",
    "MLPProbe",
    "MeasureRow",
    "PooledFeatures",
    "ProbeKind",
    "ProbeRow",
    "ProbeScore",
    "ProbeTarget",
    "Projection",
    "Representation",
    "Spread",
    "StudyMeasure",
    "balanced_accuracy",
    "binary_auc",
    "evaluate_probe",
    "extract_features",
    "fit_linear_probe",
    "fit_mlp_probe",
    "kernel_cka",
    "liveness_gradcam",
    "macro_auc",
    "measure_dict",
    "measure_disentanglement",
    "measure_features",
    "measure_row",
    "measure_run",
    "measure_table",
    "overlay_heatmap",
    "probe_disentanglement",
    "project_2d",
    "resolve_target_layer",
    "runs_table",
    "save_gradcam_grid",
    "save_projection_plot",
    "score_heldout",
    "stratified_split",
    "usable_information",
]

#: public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "DisentanglementProbes": "disentangle_fas.explain.disentanglement",
    "ProbeRow": "disentangle_fas.explain.disentanglement",
    "ProbeTarget": "disentangle_fas.explain.disentanglement",
    "probe_disentanglement": "disentangle_fas.explain.disentanglement",
    "REPRESENTATIONS": "disentangle_fas.explain.features",
    "SYMBOLS": "disentangle_fas.explain.features",
    "PooledFeatures": "disentangle_fas.explain.features",
    "Representation": "disentangle_fas.explain.features",
    "extract_features": "disentangle_fas.explain.features",
    "GradCAMResult": "disentangle_fas.explain.gradcam",
    "LivenessLogits": "disentangle_fas.explain.gradcam",
    "liveness_gradcam": "disentangle_fas.explain.gradcam",
    "resolve_target_layer": "disentangle_fas.explain.gradcam",
    "CAM_METHODS": "disentangle_fas.explain.names",
    "PROBE_KINDS": "disentangle_fas.explain.names",
    "ProbeKind": "disentangle_fas.explain.names",
    "overlay_heatmap": "disentangle_fas.explain.grid",
    "save_gradcam_grid": "disentangle_fas.explain.grid",
    "LinearProbe": "disentangle_fas.explain.probes",
    "ProbeScore": "disentangle_fas.explain.probes",
    "binary_auc": "disentangle_fas.explain.probes",
    "evaluate_probe": "disentangle_fas.explain.probes",
    "fit_linear_probe": "disentangle_fas.explain.probes",
    "stratified_split": "disentangle_fas.explain.probes",
    "HeldOutScore": "disentangle_fas.explain.heldout",
    "MLPProbe": "disentangle_fas.explain.heldout",
    "balanced_accuracy": "disentangle_fas.explain.heldout",
    "fit_mlp_probe": "disentangle_fas.explain.heldout",
    "macro_auc": "disentangle_fas.explain.heldout",
    "score_heldout": "disentangle_fas.explain.heldout",
    "usable_information": "disentangle_fas.explain.heldout",
    "measure_disentanglement": "disentangle_fas.explain.measure",
    "measure_features": "disentangle_fas.explain.measure",
    "DependenceRow": "disentangle_fas.explain.measure_types",
    "DisentanglementMeasure": "disentangle_fas.explain.measure_types",
    "MeasureRow": "disentangle_fas.explain.measure_types",
    "Spread": "disentangle_fas.explain.measure_types",
    "kernel_cka": "disentangle_fas.explain.dependence",
    "STUDY_MEASURES": "disentangle_fas.explain.measure_runs",
    "StudyMeasure": "disentangle_fas.explain.measure_runs",
    "measure_row": "disentangle_fas.explain.measure_runs",
    "measure_run": "disentangle_fas.explain.measure_runs",
    "runs_table": "disentangle_fas.explain.measure_runs",
    "measure_dict": "disentangle_fas.explain.measure_markdown",
    "measure_table": "disentangle_fas.explain.measure_markdown",
    "Projection": "disentangle_fas.explain.projection",
    "project_2d": "disentangle_fas.explain.projection",
    "save_projection_plot": "disentangle_fas.explain.projection",
    "CamSample": "disentangle_fas.explain.report",
    "DomainScore": "disentangle_fas.explain.report",
    "ExplainReport": "disentangle_fas.explain.report",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
