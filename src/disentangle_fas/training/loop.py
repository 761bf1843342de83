"""The training loop: plain PyTorch, no framework.

One optimizer (AdamW) over every module; each step's gradient by the method's rule
(:func:`~disentangle_fas.contracts.compute_gradients`: one backward pass on the method's
loss, e.g. the weighted sum of the paper's six losses, unless the method owns its
backward, as GAC-FAS's per-domain ascent does); linear warm-up then cosine decay; evaluation every
``eval_every`` steps on held-out source data and the target test set; checkpoints
written atomically; ``resume`` continues a killed run exactly where it stopped. With
``averaging`` (:mod:`~disentangle_fas.training.averaging`) the average of the weights is
updated after every step, and it is what every evaluation scores, checkpoints and selects.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

from disentangle_fas.contracts import (
    LivenessModel,
    Losses,
    TrainingMethod,
    compute_gradients,
)
from disentangle_fas.data.sampler import DomainBalancedBatchSampler
from disentangle_fas.errors import NonFiniteLossError, RunInterrupted
from disentangle_fas.metrics import EvaluationResult, TaskMetrics
from disentangle_fas.seeds import derive_seed
from disentangle_fas.training.batches import DeviceBatch, DeviceBatches, configure_device
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.distributed import (
    DistInfo,
    barrier,
    cleanup_distributed,
    init_distributed,
)
from disentangle_fas.training.finalize import finalized
from disentangle_fas.training.guards import NonFiniteGuard, check_finite_model
from disentangle_fas.training.logging import RunLogger
from disentangle_fas.training.methods import build_method, check_method_settings
from disentangle_fas.training.run_averaging import (
    batchnorm_images,
    check_restored_average,
    weight_average_for,
)
from disentangle_fas.training.run_checkpoints import (
    POLICY_FILES,
    custom_fields,
    evaluate_and_checkpoint,
    load_chosen,
)
from disentangle_fas.training.rundir import RunDirectory
from disentangle_fas.training.scoring import evaluate_model
from disentangle_fas.training.state import load_training_state, save_training_state
from disentangle_fas.training.tasks import build_task

__all__ = ["POLICY_FILES", "NonFiniteLossError", "TrainResult", "lr_at", "run_label", "train"]


@dataclass
class TrainResult:
    """The outcome of one training run.

    Attributes:
        task: the task's name.
        metrics: the reported row (threshold strategy and checkpoint policy named in it).
        result: every metric of the chosen checkpoint.
        checkpoint: path of the chosen model checkpoint.
        history: per-evaluation summaries.
        steps: optimizer steps done.
        seconds: wall time of this call.
        model: the model at the end of training (on its device, train mode): the raw
            weights of the last step, also with ``averaging`` (whose average is what
            ``last.safetensors`` and the chosen checkpoint hold).
    """

    task: str
    metrics: TaskMetrics
    result: EvaluationResult
    checkpoint: Path
    history: list[dict[str, Any]]
    steps: int
    seconds: float
    model: LivenessModel

    def chosen_model(self, device: str | torch.device | None = None) -> LivenessModel:
        """The model at the chosen checkpoint (:attr:`checkpoint`), in eval mode.

        Args:
            device: where to load it (default: the device of :attr:`model`).

        Returns:
            A new module; :attr:`model` (the last step's weights) is left as it is.
        """
        dev = torch.device(device) if device is not None else next(self.model.parameters()).device
        return load_chosen(self.checkpoint, self.model, dev)[0]


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate at ``step``: linear warm-up, then cosine decay to 1% of ``lr``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.lr * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def _batches(
    task: TaskData,
    sampler: DomainBalancedBatchSampler,
    start: int,
    cfg: TrainConfig,
    dev: torch.device,
    method: TrainingMethod,
    aug: torch.Generator,
) -> DeviceBatches:
    """Device batches forever, epoch by epoch, starting at global batch ``start``."""
    configure_device(dev)
    return DeviceBatches(
        task.train,
        sampler,
        dev,
        start=start,
        num_workers=cfg.num_workers,
        content=task.content if method.uses_content else None,
        hflip=cfg.hflip,
        generator=aug,
        channels_last=cfg.channels_last and dev.type == "cuda",
    )


def _method_generators(method: TrainingMethod) -> dict[str, torch.Generator]:
    """The method's own random streams (its optional ``generators``), named for the state."""
    own: dict[str, torch.Generator] = getattr(method, "generators", {})
    for name, gen in own.items():
        if not isinstance(gen, torch.Generator):
            raise TypeError(f"method generator {name!r} is a {type(gen).__name__}, not a Generator")
    return {f"method.{name}": gen for name, gen in own.items()}


def _finished_history(out: Path, cfg: TrainConfig) -> list[dict[str, Any]] | None:
    """The history of the finished run in ``out`` when its result and its chosen
    checkpoint are there (its resumable state need not be), else ``None``.
    """
    result, chosen = out / "result.json", out / POLICY_FILES[cfg.checkpoint_policy]
    if not (result.is_file() and chosen.is_file()):
        return None
    history = json.loads(result.read_text()).get("history")
    done = isinstance(history, list) and history and history[-1].get("step") == cfg.steps
    return history if done else None


def _step_gradients(
    step_model: torch.nn.Module,
    method: TrainingMethod,
    batch: DeviceBatch,
    cfg: TrainConfig,
    dev: torch.device,
    progress: float,
) -> Losses:
    """The step's gradient by the method's rule (:func:`compute_gradients`), forwards under
    bf16 autocast on CUDA when ``cfg.amp``.
    """
    enabled = cfg.amp and dev.type == "cuda"
    return compute_gradients(
        method,
        step_model,
        batch.images,
        batch.labels,
        batch.domains,
        batch.target,
        progress,
        autocast=lambda: torch.autocast(dev.type, dtype=torch.bfloat16, enabled=enabled),
    )


def run_label(cfg: TrainConfig, task: str) -> str:
    """A run's name for progress: method, its ``variant`` setting if any, task and seed.

    Example:
        >>> run_label(TrainConfig(variant="baseline", seed=2), "OCI->M")
        'disentangle baseline OCI->M seed 2'
    """
    variant = cfg.method_settings.get("variant")
    parts = [cfg.method, *([str(variant)] if variant else []), task, f"seed {cfg.seed}"]
    return " ".join(parts)


def train(
    cfg: TrainConfig,
    task: TaskData | None = None,
    *,
    method: TrainingMethod | None = None,
    label: str | None = None,
) -> TrainResult:
    """Train one model on one task and evaluate it.

    Args:
        cfg: the configuration.
        task: prepared data; built from ``cfg`` (:func:`build_task`) when ``None``.
        method: the model and objective to train (any
            :class:`~disentangle_fas.contracts.TrainingMethod`, e.g. an
            :class:`~disentangle_fas.training.ObjectiveMethod` around a custom model);
            built from ``cfg.method`` when ``None``. A model of no registered kind is
            checkpointed as a custom model and reloaded into a copy of itself.
        label: what the progress bar calls the run (default: method, variant when one is
            set, task and seed, e.g. ``"disentangle full OCI->M seed 0"``).

    Returns:
        The :class:`TrainResult` (on every rank; the metrics come from rank 0's files).

    With ``cfg.resume`` the run continues from ``state.safetensors``; a finished run whose
    state was pruned but whose chosen checkpoint and ``result.json`` remain is evaluated
    again from that checkpoint without training (its :attr:`TrainResult.model` is then the
    chosen checkpoint's model).

    The run folder is locked for the whole call and checked before anything is built
    (:class:`~disentangle_fas.training.rundir.RunDirectory`); it is changed only once every
    option is validated and the state restored.

    Raises:
        NonFiniteLossError: the loss, the weights or the scores became NaN or infinite.
        RunInterrupted: Ctrl-C (a ``KeyboardInterrupt`` naming the step).
        RunLockedError: another run holds ``cfg.out``.
        RunDirectoryError: ``cfg.out`` holds a run and neither ``resume`` nor ``overwrite``
            is set, or ``resume`` with a changed configuration.
    """
    t0 = time.perf_counter()
    if method is None:
        cfg = check_method_settings(cfg)  # typed, before any data is rendered or read
    info = init_distributed(cfg.device)
    run_dir = RunDirectory(
        out=cfg.out,
        resume=cfg.resume,
        overwrite=cfg.overwrite,
        allow_config_change=cfg.allow_config_change,
        enabled=info.is_main,
    )
    try:
        run_dir.open(cfg.to_dict())
        return _train(cfg, task, info, t0, method, run_dir, label)
    except KeyboardInterrupt as exc:
        if isinstance(exc, RunInterrupted):
            raise
        raise RunInterrupted(run_dir.step, run_dir.saved_step) from None
    finally:
        run_dir.close()
        cleanup_distributed(info)


def _train(
    cfg: TrainConfig,
    task: TaskData | None,
    info: DistInfo,
    t0: float,
    given: TrainingMethod | None,
    run_dir: RunDirectory,
    label: str | None = None,
) -> TrainResult:
    dev = info.device
    out = Path(cfg.out)
    task = task if task is not None else build_task(cfg)
    # Seed after building the data (parallel rendering draws from torch's generator), so a
    # model starts from the same weights whether the task was built here or by the caller.
    torch.manual_seed(cfg.seed)
    if cfg.batch_size % info.world_size:
        raise ValueError(
            f"batch_size {cfg.batch_size} must be divisible by {info.world_size} processes"
        )
    method = (
        given
        if given is not None
        else build_method(cfg, task, warn_random=info.is_main, rank=info.rank)
    )
    model = method.model.to(dev)
    own = model.input_spec
    if own is not None and own.image_size != cfg.image_size and info.is_main:
        warnings.warn(
            f"the model states an input of {own.image_size} px but the run trains it at "
            f"{cfg.image_size} px (image_size): its checkpoints record {cfg.image_size} px",
            stacklevel=3,
        )
    if cfg.channels_last and dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    state_path = out / "state.safetensors"
    finished = _finished_history(out, cfg) if cfg.resume and not state_path.is_file() else None
    if finished is not None:
        # A finished run whose state was pruned (run_protocol's keep): evaluated again
        # from its chosen checkpoint, not trained again.
        run_dir.prepare(cfg.to_dict(), cfg.steps)
        seconds = time.perf_counter() - t0
        return _finish(cfg, task, out, finished, dev, seconds, info, model, trained=False)
    # Fused AdamW runs on CPU and CUDA; on 2 CPU cores it is ~13x faster than the default
    # per-tensor loop and ~3x faster than foreach (benchmarks/bench_train.py).
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True
    )
    aug = torch.Generator().manual_seed(derive_seed(cfg.seed, "aug", info.rank))
    generators = {"aug": aug, **_method_generators(method)}
    history: list[dict[str, Any]] = []
    start = 0
    average = weight_average_for(cfg, model)
    bn_images = batchnorm_images(cfg, task, dev) if average is not None else None
    if cfg.resume and state_path.is_file():
        state = load_training_state(
            state_path,
            model=model,
            optimizer=optimizer,
            generators=generators,
            average=average.state_module() if average is not None else None,
        )
        start, history = state.step, state.history
        check_restored_average(cfg, average, state.averaged, start, state_path)
    step_model: torch.nn.Module = model
    if info.distributed:
        step_model = DistributedDataParallel(
            model, device_ids=[dev.index] if dev.type == "cuda" else None
        )
    if cfg.compile:
        step_model = torch.compile(step_model)  # type: ignore[assignment]

    sampler = DomainBalancedBatchSampler(
        task.train_labels,
        task.train_domains,
        cfg.batch_size // info.world_size,
        seed=cfg.seed,
        rank=info.rank,
        world_size=info.world_size,
    )
    run_dir.prepare(cfg.to_dict(), start)  # the first change to the folder
    logger = RunLogger(out, enabled=info.is_main, tensorboard=cfg.tensorboard, resume=start > 0)
    batches = _batches(task, sampler, start, cfg, dev, method, aug)
    try:
        guard = NonFiniteGuard(dev)
        bar = logger.progress(total=cfg.steps, initial=start, desc=label or run_label(cfg, task.name),
                              enabled=cfg.progress)  # fmt: skip
        model.train()
        seen, t_log = 0, time.perf_counter()
        for step in range(start, cfg.steps):
            lr = lr_at(step, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            losses = _step_gradients(step_model, method, next(batches), cfg, dev, step / cfg.steps)
            terms = losses.terms
            guard.update(losses.total, step)  # no host sync; read below where the loop syncs
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            method.after_step((step + 1) / cfg.steps)
            seen += cfg.batch_size
            done = run_dir.step = step + 1
            if average is not None:
                average.update(model, done)
            bar.update(1)
            if done % cfg.log_every == 0 or done % cfg.eval_every == 0 or done == cfg.steps:
                bad = guard.first_bad()
                if bad is not None:
                    batches.close()
                    raise NonFiniteLossError(
                        f"non-finite loss at step {bad} (terms at step {step}: "
                        f"{terms.as_floats()}). The last good checkpoint "
                        f"({state_path if state_path.exists() else 'none yet'}) is untouched; "
                        "lower lr or loss weights, or check the data."
                    )
            if done % cfg.log_every == 0 or done == cfg.steps:
                now = time.perf_counter()
                row = {
                    "step": done,
                    "lr": lr,
                    **terms.as_floats(),
                    "images_per_s": seen / max(now - t_log, 1e-9),
                }
                logger.log("train", row)
                bar.set_postfix(loss=f"{row['total']:.3f}")
                seen, t_log = 0, now
            if done % cfg.eval_every == 0 or done == cfg.steps:
                if info.is_main:
                    if average is not None:
                        check_finite_model(model, done, state_path)  # the raw weights too
                    evaluated = (
                        average.evaluated(model, bn_images, cfg.batch_size)
                        if average is not None
                        else model
                    )
                    evaluated = finalized(method, evaluated, task, cfg, dev)  # its own step
                    evaluate_and_checkpoint(cfg, task, evaluated, out, done, history, logger, dev,
                                             custom_fields(method))  # fmt: skip
                    save_training_state(
                        state_path,
                        step=done,
                        model=model,
                        optimizer=optimizer,
                        generators=generators,
                        history=history,
                        average=average.state_module() if average is not None else None,
                    )
                    run_dir.saved_step = done
                barrier(info)
    finally:
        batches.close()  # the loader's workers stop on every way out (Ctrl-C included)
    bar.close()
    logger.close()
    return _finish(cfg, task, out, history, dev, time.perf_counter() - t0, info, model)


def _finish(
    cfg: TrainConfig,
    task: TaskData,
    out: Path,
    history: list[dict[str, Any]],
    dev: torch.device,
    seconds: float,
    info: DistInfo,
    model: LivenessModel,
    *,
    trained: bool = True,
) -> TrainResult:
    """Evaluate the chosen checkpoint and write ``result.json``.

    ``model`` is the trained model (``trained``), or, for a finished run evaluated again,
    the untrained one its checkpoint is loaded into; the result then holds the chosen model.
    """
    path = out / POLICY_FILES[cfg.checkpoint_policy]
    chosen, step = load_chosen(path, model, dev)
    result = evaluate_model(chosen, task.source_val, task.target_test, device=dev, step=step)
    metrics = TaskMetrics.from_result(task.name, result, cfg.threshold, cfg.checkpoint_policy)
    if info.is_main:
        (out / "result.json").write_text(
            json.dumps({"metrics": metrics.to_dict(), "history": history}, indent=2)
        )
    kept = model if trained else chosen.train()
    return TrainResult(task.name, metrics, result, path, history, cfg.steps, seconds, kept)
