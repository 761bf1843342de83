"""Pool a study's tables over its tasks: one line per variant, and the pooled comparisons.

The study's own tables (``study.md``) compare variants task by task, with Holm's correction
over every task and pair, and average the probes over tasks. This script reads the same
``results.json`` and ``probes.json`` (of a finished study, or of ``--collect OUT --interim``)
and prints, per variant:

* the honest target AUC and HTER averaged over the tasks of each seed, then mean ± std over
  seeds, for all tasks and for each ``--group``;
* the domain read from f_L by the linear and MLP probes, beside the untrained encoder, and
  the kernel CKA of f_L with the domain, averaged over runs;

then the paired t-test of target AUC between every two variants over (task, seed) units,
Holm-adjusted over the pairs. That test treats the tasks as replicates, an exploratory
pooling the study's tables do not make; and the rank correlation, over runs, between how
much more domain f_L carries than the untrained encoder and the target AUC.

    python examples/study_summary.py runs/removal-cpu/interim \\
        --group "leave-one-out=OCI->M,OMI->C,OCM->I,ICM->O" \\
        --group "unseen masks=OCI->Cb,OMI->Cb,OCM->Cb,ICM->Cb"
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from disentangle_fas.metrics.t_distribution import t_cdf
from disentangle_fas.metrics.uncertainty import holm_adjust, mean_std, paired_t_test


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("folder", help="a folder with results.json and probes.json")
    p.add_argument("--group", action="append", default=[], metavar="NAME=TASK,TASK")
    return p.parse_args(argv)


def pooled(
    per_seed_task: dict[tuple[str, str], list[float]], variant: str, tasks: list[str]
) -> str:
    """Mean over ``tasks`` per seed, then mean ± std over seeds, in %."""
    n_seeds = len(per_seed_task[(variant, tasks[0])])
    per_seed = [
        float(np.mean([per_seed_task[(variant, t)][s] for t in tasks])) for s in range(n_seeds)
    ]
    ms = mean_std(per_seed)
    return f"{100 * ms.mean:.1f}" + ("" if math.isnan(ms.std) else f" ± {100 * ms.std:.1f}")


def spearman(x: list[float], y: list[float]) -> tuple[float, float]:
    """Spearman's rank correlation (average ranks for ties) and its two-sided p-value from
    the t approximation with ``n - 2`` degrees of freedom.
    """

    def ranks(v: list[float]) -> np.ndarray[Any, np.dtype[np.float64]]:
        a = np.asarray(v, dtype=np.float64)
        order = a.argsort(kind="stable")
        r = np.empty(len(a))
        r[order] = np.arange(1, len(a) + 1)
        for value in np.unique(a):  # ties share their mean rank
            r[a == value] = r[a == value].mean()
        return r

    rx, ry = ranks(x), ranks(y)
    if len(x) < 2 or rx.std() == 0 or ry.std() == 0:
        return math.nan, math.nan  # a constant has no ranking
    rho = float(np.corrcoef(rx, ry)[0, 1])
    n = len(x)
    if n < 3 or abs(rho) >= 1.0:
        return rho, 0.0 if abs(rho) >= 1.0 else math.nan
    t = rho * math.sqrt((n - 2) / (1 - rho * rho))
    return rho, 2 * (1 - t_cdf(abs(t), n - 2))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    folder = Path(args.folder)
    results = json.loads((folder / "results.json").read_text())
    probes = json.loads((folder / "probes.json").read_text())
    cells = results["summary"]["cells"]
    variants = list(dict.fromkeys(c["variant"] for c in cells))
    tasks = list(dict.fromkeys(c["task"] for c in cells))
    auc = {(c["variant"], c["task"]): c["auc_per_seed"] for c in cells}
    hter = {(c["variant"], c["task"]): c["hter_per_seed"] for c in cells}
    groups = [("all tasks", tasks)]
    for g in args.group:
        name, _, listed = g.partition("=")
        members = [t for t in listed.split(",") if t]
        missing = sorted(set(members) - set(tasks))
        if not name or not members or missing:
            raise SystemExit(f"--group {g!r}: NAME=TASK,TASK of {tasks} (missing: {missing})")
        groups.append((name, members))
    seeds = len(cells[0]["auc_per_seed"])
    print(f"{folder}: {len(tasks)} tasks, {len(variants)} variants, {seeds} seeds")
    print("\nhonest target AUC (%), mean over tasks per seed, then mean ± std over seeds")
    print("| variant | " + " | ".join(f"AUC, {n}" for n, _ in groups) + " | HTER, all tasks |")
    print("| --- |" + " ---: |" * (len(groups) + 1))
    for v in variants:
        row = [pooled(auc, v, members) for _, members in groups] + [pooled(hter, v, tasks)]
        print(f"| {v} | " + " | ".join(row) + " |")

    runs: dict[str, list[dict[str, float]]] = defaultdict(list)
    for run in probes["measures"]:
        runs[run["variant"]].append(run["values"])

    def mean_of(v: str, key: str) -> float:
        got = [x[key] for x in runs[v] if x.get(key) is not None]
        return 100 * float(np.mean(got)) if got else math.nan

    print("\ndomain from f_L over runs (%; linear / MLP probe balanced accuracy, CKA x100)")
    print(
        "| variant | linear | untrained | trained − untrained | MLP | untrained | CKA | untrained |"
    )
    print("| --- |" + " ---: |" * 7)
    for v in variants:
        lin, base = mean_of(v, "domain_from_f_L"), mean_of(v, "domain_from_f_L@untrained")
        print(
            f"| {v} | {lin:.1f} | {base:.1f} | {lin - base:+.1f} | "
            f"{mean_of(v, 'domain_from_f_L:mlp'):.1f} | "
            f"{mean_of(v, 'domain_from_f_L:mlp@untrained'):.1f} | "
            f"{mean_of(v, 'cka f_L ~ domain'):.1f} | {mean_of(v, 'cka f_L ~ domain@untrained'):.1f} |"
        )

    pairs = [(a, b) for i, a in enumerate(variants) for b in variants[i + 1 :]]
    units = [(t, s) for t in tasks for s in range(seeds)]
    p_values = [
        paired_t_test([auc[(a, t)][s] for t, s in units], [auc[(b, t)][s] for t, s in units])
        for a, b in pairs
    ]
    holm = holm_adjust(p_values)
    print(
        f"\npaired t-tests of target AUC over {len(units)} (task, seed) units, Holm over "
        f"{len(pairs)} pairs (exploratory: tasks pooled as replicates)"
    )
    for (a, b), p, h in sorted(zip(pairs, p_values, holm, strict=True), key=lambda z: z[1]):
        diff = np.mean([auc[(a, t)][s] - auc[(b, t)][s] for t, s in units])
        print(f"  {a} − {b}: {100 * diff:+.1f} points, p {p:.3g}, Holm {h:.3g}")

    index = {seed: i for i, seed in enumerate(results["seeds"])}  # position in *_per_seed
    x, y = [], []
    for run in probes["measures"]:
        vals, key = run["values"], (run["variant"], run["task"])
        if "domain_from_f_L@untrained" in vals and key in auc and run["seed"] in index:
            x.append(vals["domain_from_f_L"] - vals["domain_from_f_L@untrained"])
            y.append(auc[key][index[run["seed"]]])
    rho, p = spearman(x, y)
    print(
        f"\nSpearman rank correlation over {len(x)} runs of (domain from f_L − untrained) with "
        f"target AUC: {rho:+.2f} (p {p:.3g})"
    )


if __name__ == "__main__":
    main()
