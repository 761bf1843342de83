"""The Table 3 study: presets, the probes of every run, the tables and the command."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from _fake_task import fake_task, tiny_config
from disentangle_fas.data.protocols import leave_one_out
from disentangle_fas.explain import measure_run
from disentangle_fas.explain.disentanglement import expected_level
from disentangle_fas.study import (
    PROBES,
    STUDY_PRESETS,
    STUDY_TASKS,
    STUDY_VARIANTS,
    ProbeRun,
    StudyProbes,
    run_study,
    study_setup,
)
from disentangle_fas.training import TrainConfig
from disentangle_fas.training.cli import protocol_main
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.presets import SYNTHETIC_PROTOCOL_PRESET

pytestmark = pytest.mark.filterwarnings("ignore:SharedStemEncoders. no ImageNet weights")


def _builder(cfg: TrainConfig) -> TaskData:
    return dataclasses.replace(fake_task(), name=f"fake {cfg.task}")


def test_presets_cover_table3_on_the_eight_tasks() -> None:
    assert set(STUDY_VARIANTS) == {"baseline", "content", "domain", "full", "ssdg-r"}
    assert len(STUDY_TASKS) == 8 and sum(t.endswith("->Cb") for t in STUDY_TASKS) == 4
    for task in STUDY_TASKS:
        leave_one_out(task)  # every name parses
    gpu, cpu = STUDY_PRESETS["study"], STUDY_PRESETS["study-cpu"]
    assert gpu.seeds >= 5 and gpu.tasks == STUDY_TASKS and gpu.variants == STUDY_VARIANTS
    assert cpu.seeds >= 5 and cpu.tasks == STUDY_TASKS and cpu.variants == STUDY_VARIANTS
    assert gpu.config.image_size > cpu.config.image_size
    # study-cpu runs at the main command's scale, and its printed line says which
    main = SYNTHETIC_PROTOCOL_PRESET
    assert cpu.config.replace(out=main.out) == main
    assert f"{main.image_size} px, {main.steps} steps" in cpu.description


def test_removal_presets_compare_every_mechanism_with_baseline_and_full() -> None:
    from disentangle_fas.methods import variant_names
    from disentangle_fas.training.presets import REMOVAL_VARIANTS

    gpu, cpu = STUDY_PRESETS["removal"], STUDY_PRESETS["removal-cpu"]
    assert set(REMOVAL_VARIANTS) <= set(variant_names())  # every name resolves
    assert {"baseline", "full"} < set(REMOVAL_VARIANTS) and len(REMOVAL_VARIANTS) == 6
    for preset, base in ((gpu, STUDY_PRESETS["study"]), (cpu, STUDY_PRESETS["study-cpu"])):
        assert preset.seeds >= 5 and preset.tasks == STUDY_TASKS
        assert preset.variants == REMOVAL_VARIANTS
        assert preset.config.replace(out=base.config.out) == base.config  # same scale


def test_study_probes_the_chosen_checkpoint_of_every_run(tmp_path: Path) -> None:
    cfg = tiny_config(str(tmp_path), steps=2, eval_every=1)
    lines: list[str] = []
    res = run_study(
        "study-cpu",
        config=cfg,
        tasks=["OCI->M", "OCI->Cb"],
        variants=["baseline", "full", "ssdg-r"],
        seeds=2,
        task_builder=_builder,
        echo=lines.append,
        keep="chosen",
        probes=ProbeRun("cpu", kinds=["linear"], train_per_domain=8),
    )
    assert "changed here: 2 tasks x 3 variants x 2 seeds, " in lines[0]
    assert "steps=2" in lines[0] and "out=" not in lines[0]
    values = res.probes.values
    assert len(values) == 2 * 3 * 2
    full = values[("full", "fake OCI->M", 1)]
    assert {p.key for p in PROBES} <= set(full)
    assert all(
        0.0 <= full[f"{p.key}{ref}"] <= 1.0 for p in PROBES for ref in ("", "@untrained", "@pixels")
    )
    for variant in ("baseline", "ssdg-r"):  # no E_C / E_D: only f_L is probed
        keys = {
            k.split("@")[0] for k in values[(variant, "fake OCI->M", 0)] if not k.startswith("cka")
        }
        assert keys == {"domain_from_f_L", "liveness_from_f_L", "domain_info_from_f_L"}
    assert res.probes.domain_chance == {"fake OCI->M": 1 / 3, "fake OCI->Cb": 1 / 3}
    assert len(res.probes.seconds) == 12 and all(t > 0 for t in res.probes.seconds.values())
    assert any("(measured in " in line and "/ untrained " in line for line in lines)

    # An independent recomputation from the run's chosen checkpoint gives the same numbers:
    # probes fitted on the task's train samples, scored on its source-validation samples.
    run = res.protocol.runs[("full", "fake OCI->M")]  # the first seed's run
    task = fake_task()
    again = measure_run(run.chosen_model("cpu"), task.train, task.train_domains, task.source_val,
                        seed=0, kinds=["linear"], probe_seeds=1, train_per_domain=8)  # fmt: skip
    assert again["n_train"] == 24 and again["n_val"] == 24  # 8 per source domain; all 24
    first = values[("full", "fake OCI->M", 0)]
    for key in ("domain_from_f_L", "liveness_from_f_C", "domain_from_f_L@untrained"):
        assert first[key] == pytest.approx(again["values"][key])

    # Files: the probe rows match the values, the table's means match numpy.
    data = json.loads((tmp_path / "probes.json").read_text())
    assert len(data["runs"]) == 12 and "torch" in data["env"]
    assert len(data["measures"]) == 12 and data["measures"][0]["seconds"] > 0
    md = (tmp_path / "study.md").read_text()
    assert "## Disentanglement probes" in md and "baseline − full" in md
    assert "Against references" in md and "| full | domain from f_L (linear, bal. acc.) |" in md
    assert "The measurement added" in md
    per_seed = [
        np.mean(
            [values[("full", t, s)]["domain_from_f_L"] for t in ("fake OCI->M", "fake OCI->Cb")]
        )
        for s in (0, 1)
    ]
    assert res.probes._per_seed_means("full", "domain_from_f_L") == pytest.approx(per_seed)
    probe_part = md.split("## Disentanglement probes", 1)[1]
    full_row = next(line for line in probe_part.splitlines() if line.startswith("| full | "))
    assert full_row.split("|")[2].strip().startswith(f"{100 * np.mean(per_seed):.1f}")
    kept = {p.name for p in tmp_path.rglob("*.safetensors")}
    assert kept == {"best_source_val.safetensors"}  # keep="chosen"
    csv_lines = (tmp_path / "probes.csv").read_text().splitlines()
    assert csv_lines[0].startswith("variant,task,seed,") and len(csv_lines) == 13


def test_probe_table_marks_missing_probes_and_chance() -> None:
    probes = StudyProbes()
    probes.values[("baseline", "T", 0)] = {"domain_from_f_L": 0.5, "liveness_from_f_L": 0.9}
    probes.values[("baseline", "T", 1)] = {"domain_from_f_L": 0.7, "liveness_from_f_L": 0.8}
    probes.domain_chance["T"] = 1 / 3
    md = probes.to_markdown()
    row = next(line for line in md.splitlines() if line.startswith("| baseline | "))
    cells = [c.strip() for c in row.split("|")[2:-1]]
    # mean 60.0; t-interval half-width t(0.975, 1) * s / sqrt(2) = 12.706 * 0.1414 / 1.414
    assert cells[0] == "60.0 ± 127.1"
    assert cells[3] == "–" and cells[4] == "–"  # no f_C, no f_D
    assert "| chance / disentangled | 33.3 / chance | 33.3 / high | 50.0 / high |" in md


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown study preset 'nope'"):
        run_study("nope")


def test_study_command_refuses_real_data_and_bad_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert protocol_main(["--preset", "study-cpu", "--data", "/some/store"]) == 2
    err = capsys.readouterr().err
    assert "built-in synthetic data" in err and "Traceback" not in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as exc:
        protocol_main(["--preset", "nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_study_keeps_no_weights_by_default(tmp_path: Path) -> None:
    run_study(
        "study-cpu",
        config=tiny_config(str(tmp_path), steps=2, eval_every=1),
        tasks=["OCI->M"],
        variants=["baseline"],
        seeds=1,
        task_builder=_builder,
        echo=lambda _: None,
    )
    run = tmp_path / "baseline" / "OCI__M"
    assert (run / "result.json").is_file() and not list(tmp_path.rglob("*.safetensors"))


def test_expected_levels_follow_the_paper() -> None:
    # Liveness belongs in f_L and the domain in f_D; every other pairing should be at chance.
    high = {(t, r) for t in ("liveness", "domain") for r in ("liveness", "content", "domain")
            if expected_level(t, r) == "high"}  # type: ignore[arg-type]  # fmt: skip
    assert high == {("liveness", "liveness"), ("domain", "domain")}
    assert [p.expected for p in PROBES] == ["chance", "high", "high", "chance", "chance"]
    assert PROBES[0].header == "domain from f_L (bal. acc.)"
    assert PROBES[3].header == "liveness from f_C (AUC)"


def test_a_study_names_only_the_settings_it_changes() -> None:
    preset = STUDY_PRESETS["removal-cpu"]
    moved = study_setup(preset, config=preset.config.replace(out="elsewhere", progress=False))
    assert moved.description == preset.description  # where it is written changes nothing
    smaller = study_setup(preset, config=preset.config.replace(steps=50), seeds=2)
    assert smaller.description == (
        f"{preset.description}; changed here: 8 tasks x 6 variants x 2 seeds, steps=50"
    )
