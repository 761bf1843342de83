"""Audit a LEACE-erased model: which fresh linear probe reads the domain from f_L, and where.

LEACE (``--set erase=leace``) makes the class-conditional means of the domain equal on the
sample it was fitted on (the run's source-training features), so that no linear
predictor fitted on that sample does better than a constant one. This script shows how far
the promise carries on held-out data, by fitting the same multinomial logistic probe
(:func:`~disentangle_fas.explain.fit_linear_probe`) on different samples of the
source-training features, before and after the run's own eraser, and scoring each on the
held-out source-validation features:

* the whole source-training set, the eraser's own sample: erased by LEACE fitted again in
  float64 (the guarantee holds exactly: the probe learns nothing), by the model itself
  (``representations()["liveness"]``, what C_L reads), and by the model's eraser in float32
  arithmetic;
* stratified bootstrap resamples of it (what ``explain`` and the studies fit on);
* at most ``--per-domain`` images per domain (the studies' probe sample);
* the live and the spoof images alone (is the domain still readable within a class?).

Each probe is scored by balanced accuracy and by usable information
(:func:`~disentangle_fas.explain.heldout.usable_information`: the share of the domain's
uncertainty its held-out predictions remove, against predicting the domain frequencies).
LEACE's guarantee is about convex losses such as this one, not about accuracy.

Give it a run folder trained with ``--set erase=leace`` and a kept checkpoint::

    disentangle-fas train --set erase=leace --out runs/leace
    python examples/leace_audit.py runs/leace

It rebuilds the run's task from the folder's ``config.json`` (the synthetic data are
rendered again; a store must be where the config says).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import Tensor

from disentangle_fas.checkpoint import load_model
from disentangle_fas.explain import extract_features
from disentangle_fas.explain.heldout import score_heldout, stratified_bootstrap
from disentangle_fas.explain.measure_runs import cap_per_domain
from disentangle_fas.losses import fit_leace, leace_erase
from disentangle_fas.model import DisentangledFAS
from disentangle_fas.training.config_io import load_config
from disentangle_fas.training.tasks import build_task


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("run", help="a run folder with config.json and a checkpoint")
    p.add_argument("--checkpoint", default="", help="default: RUN/best_source_val.safetensors")
    p.add_argument("--per-domain", type=int, default=100, help="the capped sample's size")
    p.add_argument("--resamples", type=int, default=3, help="bootstrap resamples")
    return p.parse_args(argv)


def domain_scores(
    train: Tensor, domains: Tensor, val: Tensor, val_domains: Tensor
) -> tuple[float, float]:
    """Balanced accuracy and usable information on ``val`` of a linear probe fitted on
    ``train`` as it is (no resample)."""
    got = score_heldout(train, domains, val, val_domains, kind="linear", seed=None, max_iter=300)
    return got.balanced_accuracy, got.information


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = Path(args.run)
    checkpoint = Path(args.checkpoint) if args.checkpoint else run / "best_source_val.safetensors"
    model = load_model(checkpoint).model
    if not isinstance(model, DisentangledFAS) or model.eraser is None:
        raise SystemExit(f"{checkpoint}: not a model trained with --set erase=leace")
    task = build_task(load_config(run / "config.json"))
    erased_tr, erased_va = (
        extract_features(model, task.train),
        extract_features(model, task.source_val),
    )
    eraser, model.eraser = model.eraser, None  # f_L before the eraser
    tr, va = extract_features(model, task.train), extract_features(model, task.source_val)
    model.eraser = eraser
    k = len(task.source_names)
    raw_tr, raw_va = tr.liveness.double(), va.liveness.double()
    d_tr, d_va, y_tr, y_va = tr.domains, va.domains, tr.labels, va.labels
    # LEACE on the whole source-train set in float64: the run's own fit when the set has at
    # most erase_max_images (4096) images, as the synthetic tasks have.
    exact = fit_leace(raw_tr, d_tr, k)
    stored = eraser.projection.float(), eraser.bias.float()
    erased: dict[str, tuple[Tensor, Tensor]] = {
        "exact": (leace_erase(raw_tr, *exact), leace_erase(raw_va, *exact)),
        "model": (erased_tr.liveness.double(), erased_va.liveness.double()),
        "float32": (
            leace_erase(tr.liveness, *stored).double(),
            leace_erase(va.liveness, *stored).double(),
        ),
    }
    every = torch.arange(len(d_tr))
    all_val = torch.ones_like(d_va, dtype=torch.bool)
    samples: list[tuple[str, Tensor, Tensor, str]] = [
        ("whole source-train, LEACE refit in float64", every, all_val, "exact"),
        ("whole source-train, the model's erased f_L", every, all_val, "model"),
        ("the same eraser in float32 arithmetic", every, all_val, "float32"),
    ]
    samples += [
        (f"bootstrap resample {s}", stratified_bootstrap(d_tr, seed=s), all_val, "model")
        for s in range(args.resamples)
    ]
    capped = torch.as_tensor(cap_per_domain(d_tr.numpy(), args.per_domain, seed=0))
    samples.append((f"{args.per_domain} per domain", capped, all_val, "model"))
    for label, name in ((1, "live"), (0, "spoof")):
        within = torch.nonzero(y_tr == label).flatten()
        samples.append((f"{name} images only", within, y_va == label, "model"))
    print(
        f"{checkpoint}: {len(d_tr)} source-train and {len(d_va)} source-val images, "
        f"{k} domains (chance {100 / k:.1f} %)"
    )
    print(
        "domain from f_L on source-val, by a linear probe fitted on each sample: balanced "
        "accuracy (%) and usable information (% of the domain's uncertainty; 0 = no better "
        "than the domain frequencies, negative = worse):"
    )
    print(f"  {'sample':<44} {'acc before':>10} {'erased':>7} {'info before':>11} {'erased':>7}")
    for name, idx, keep, arithmetic in samples:
        e_tr, e_va = erased[arithmetic]
        acc_b, info_b = domain_scores(raw_tr[idx], d_tr[idx], raw_va[keep], d_va[keep])
        acc_a, info_a = domain_scores(e_tr[idx], d_tr[idx], e_va[keep], d_va[keep])
        print(
            f"  {name:<44} {100 * acc_b:10.1f} {100 * acc_a:7.1f} "
            f"{100 * info_b:11.1f} {100 * info_a:7.1f}"
        )


if __name__ == "__main__":
    main()
