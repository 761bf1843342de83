"""What a run writes at each evaluation: scores, ``last.safetensors`` and the checkpoint each
policy chooses (hard links where the file system allows), and how the chosen one is read
back.
"""

from __future__ import annotations

import copy
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from disentangle_fas.checkpoint import (
    CUSTOM_KIND,
    load_model,
    load_weights,
    read_metadata,
    save_model,
)
from disentangle_fas.contracts import InputSpec, LivenessModel, TrainingMethod
from disentangle_fas.methods.common.inputs import input_spec_of
from disentangle_fas.metrics.checkpoints import CheckpointPolicy, CheckpointScores, select_index
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.guards import check_finite_model, evaluate_finite
from disentangle_fas.training.logging import RunLogger
from disentangle_fas.training.scoring import evaluate_model

__all__ = [
    "POLICY_FILES",
    "custom_fields",
    "evaluate_and_checkpoint",
    "load_chosen",
    "trained_input",
]

#: The file a run writes for the checkpoint each policy chooses.
POLICY_FILES = {
    CheckpointPolicy.BEST_SOURCE_VAL: "best_source_val.safetensors",
    CheckpointPolicy.ORACLE_BEST_TARGET: "best_oracle.safetensors",
    CheckpointPolicy.LAST: "last.safetensors",
}


def evaluate_and_checkpoint(
    cfg: TrainConfig,
    task: TaskData,
    model: LivenessModel,
    out: Path,
    step: int,
    history: list[dict[str, Any]],
    logger: RunLogger,
    dev: torch.device,
    custom: dict[str, Any] | None = None,
) -> None:
    """Score ``model`` on the source-validation and target sets at ``step``, append the
    summary to ``history``, write ``last.safetensors`` and update each policy's file.

    Raises:
        NonFiniteLossError: non-finite weights or scores (the message names ``state``).
    """
    channels_last = cfg.channels_last and dev.type == "cuda"
    state = out / "state.safetensors"
    check_finite_model(model, step, state)
    result = evaluate_finite(
        lambda: evaluate_model(
            model,
            task.source_val,
            task.target_test,
            device=dev,
            step=step,
            channels_last=channels_last,
        ),
        step,
        state,
    )
    assert result.honest is not None and result.source_val is not None
    summary = {
        "step": step,
        "target_auc": result.auc,
        "target_eer": result.eer,
        "target_hter_oracle": result.oracle.hter,
        "target_hter_honest": result.honest.hter,
        "source_val_eer": result.source_val.eer,
        "source_val_auc": result.source_val.auc,
        "threshold_honest": result.honest.threshold,
        "threshold_oracle": result.oracle.threshold,
    }
    logger.log("eval", summary)
    info = {
        "task": task.name,
        "step": step,
        "sources": task.source_names,
        "target": task.target_name,
    }
    history.append(summary)
    last = save_model(
        model,
        out / "last.safetensors",
        threshold=result.honest.threshold,
        threshold_strategy="source_val_eer",
        info=info,
        input_spec=trained_input(cfg, model),
        **(custom or {}),
    )
    scores = [_scores(h) for h in history]
    for policy in (CheckpointPolicy.BEST_SOURCE_VAL, CheckpointPolicy.ORACLE_BEST_TARGET):
        # The kept file changes only when the newest evaluation becomes the choice, so it
        # always holds the checkpoint select_checkpoint picks from the whole history.
        if select_index(scores, policy) == len(history) - 1:
            _link_or_copy(last, out / POLICY_FILES[policy])


def custom_fields(method: TrainingMethod) -> dict[str, Any]:
    """What a checkpoint of a custom model stores for its builder: the method's
    ``checkpoint_config`` and ``builder`` (:class:`ObjectiveMethod` has both), when set.
    """
    fields = {"config": getattr(method, "checkpoint_config", None),
              "builder": getattr(method, "builder", None)}  # fmt: skip
    return {k: v for k, v in fields.items() if v is not None}


def trained_input(cfg: TrainConfig, model: LivenessModel) -> InputSpec:
    """The input the run trains ``model`` on, as its checkpoints record it: the run's image
    size with the model's normalisation (its input spec's, else its ``normalize`` layer's,
    else none: inputs in [0, 1]).
    """
    own = model.input_spec
    if own is not None:
        return own if own.image_size == cfg.image_size else replace(own, image_size=cfg.image_size)
    normalize = getattr(model, "normalize", None)
    spec = (
        input_spec_of(cfg.image_size, normalize) if isinstance(normalize, torch.nn.Module) else None
    )
    return spec or InputSpec(cfg.image_size, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))


def _scores(summary: dict[str, Any]) -> CheckpointScores:
    """The selection scores of one evaluation summary of the run history."""
    return CheckpointScores(
        target_hter_oracle=summary["target_hter_oracle"],
        target_auc=summary["target_auc"],
        source_val_eer=summary["source_val_eer"],
        source_val_auc=summary["source_val_auc"],
    )


def _link_or_copy(src: Path, dest: Path) -> None:
    """Make ``dest`` hold ``src``'s current bytes, atomically, without copying if possible.

    A hard link shares the file; ``last.safetensors`` is later *replaced* (new inode), so
    the link keeps this version.
    """
    tmp = dest.with_name(f".{dest.name}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def load_chosen(path: Path, model: LivenessModel, dev: torch.device) -> tuple[LivenessModel, Any]:
    """Load the chosen checkpoint: rebuilt from its kind, or into a copy of a custom model."""
    meta = read_metadata(path)
    if meta.get("kind") == CUSTOM_KIND:
        clone = copy.deepcopy(model)
        load_weights(path, clone, map_location=str(dev))
        return clone.eval(), (meta.get("info") or {}).get("step")
    loaded = load_model(path, map_location=str(dev))
    return loaded.model, loaded.info.get("step")
