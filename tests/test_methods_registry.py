"""Methods as folders: the registry, plugins through entry points, ``--set`` settings, the
shared seed rule, and the rule that nothing outside a method's folder names it."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from _fake_task import fake_task, tiny_config
from disentangle_fas.checkpoint import load_model, save_model
from disentangle_fas.methods import (
    MethodContext,
    SettingsError,
    available_methods,
    method_builder,
    register_method,
    resolve_variant,
)
from disentangle_fas.methods.common.settings import coerce_settings, settings_of
from disentangle_fas.methods.disentangle import ModelConfig
from disentangle_fas.methods.listing import describe_methods
from disentangle_fas.seeds import derive_seed
from disentangle_fas.training import TrainConfig, train
from disentangle_fas.training.cli import main as train_main
from disentangle_fas.training.config import settings_for
from disentangle_fas.training.config_io import load_config, parse_config
from disentangle_fas.training.methods import check_method_settings
from disentangle_fas.training.presets import PAPER_PRESET

pytestmark = pytest.mark.filterwarnings("ignore:.*no ImageNet weights")

SRC = Path(__file__).resolve().parents[1] / "src" / "disentangle_fas"
BUILT_IN = ("disentangle", "ssdg-r", "ssan-r", "sa-fas", "gac-fas")
FOLDERS = ("disentangle", "ssdg", "ssan", "safas", "gac_fas")

#: One setting of each built-in method, a value other than its default, and where the
#: built model shows it.
ONE_SETTING = {
    "disentangle": ("w_dom", "0.25", 0.25),
    "ssdg-r": ("lambda_trip", "0.5", 0.5),
    "ssan-r": ("lambda_contrast", "3", 3.0),
    "sa-fas": ("supcon_weight", "0.2", 0.2),
    "gac-fas": ("rho", "0.05", 0.05),
}


def test_every_folder_registers_itself_under_its_one_name() -> None:
    assert set(BUILT_IN) <= set(available_methods())
    for name in BUILT_IN:
        spec = method_builder(name)
        assert spec.summary and spec.settings()  # listed with its settings
    with pytest.raises(ValueError, match=r"unknown method 'nope'.*ssdg-r"):
        method_builder("nope")


def test_table3_rows_are_named_variants_of_the_papers_method() -> None:
    assert resolve_variant("baseline") == ("disentangle", {"variant": "baseline"})
    assert resolve_variant("ssdg-r") == ("ssdg-r", {})
    with pytest.raises(ValueError, match="unknown variant 'fulll'"):
        resolve_variant("fulll")


@pytest.mark.parametrize("method", BUILT_IN)
def test_set_reaches_the_run_config_the_model_and_the_checkpoint(
    tmp_path: Path, method: str
) -> None:
    key, text, value = ONE_SETTING[method]
    cfg = parse_config(["--set", f"{key}={text}"], tiny_config(str(tmp_path), method=method))
    assert cfg.method_settings == {key: text}  # typed by the check before any work
    res = train(cfg.replace(steps=2, eval_every=2), fake_task())
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["method"] == method and stored["method_settings"] == {key: value}
    model = load_model(res.checkpoint).model
    assert model.config is not None and getattr(model.config, key) == value


def test_a_settings_table_in_the_config_file_names_the_method(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('steps = 3\n[method]\nname = "ssdg-r"\nlambda_trip = 0.5\n')
    cfg = load_config(toml)
    assert (cfg.method, cfg.method_settings, cfg.steps) == ("ssdg-r", {"lambda_trip": 0.5}, 3)
    flagged = parse_config(["--config", str(toml), "--set", "lambda_adv=0.2"])
    assert flagged.method_settings == {"lambda_trip": 0.5, "lambda_adv": "0.2"}
    typed = check_method_settings(flagged)
    assert typed.method_settings == {"lambda_trip": 0.5, "lambda_adv": 0.2}


def test_the_preset_is_chosen_after_the_config_file_is_read(tmp_path: Path) -> None:
    from disentangle_fas.training.cli import _preset

    toml = tmp_path / "c.toml"
    toml.write_text(f'data = "{tmp_path}"\n')
    parser_cfg = parse_config(["--config", str(toml)], None)
    assert parser_cfg.data == str(tmp_path)
    import argparse

    from disentangle_fas.training.config_io import add_config_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    cfg = config_from_args(parser.parse_args(["--config", str(toml)]), _preset(TrainConfig()))
    assert cfg.image_size == PAPER_PRESET.image_size and cfg.steps == PAPER_PRESET.steps


@pytest.mark.parametrize(
    ("method", "settings", "message"),
    [
        ("ssdg-r", {"lambda_tripp": "1"}, "has no setting 'lambda_tripp'; its settings: embed_dim"),
        ("ssdg-r", {"lambda_trip": "many"}, "lambda_trip must be a number"),
        ("ssdg-r", {"lambda_trip": "-1"}, "lambda_trip must be finite and >= 0"),
        ("sa-fas", {"align": "maybe"}, "align must be true or false"),
        ("disentangle", {"variant": "everything"}, "variant must be one of baseline"),
        ("disentangle", {"num_domains": "4"}, "has no setting 'num_domains'"),
        ("ssan-r", {"scale": "8"}, "has no setting 'scale'"),  # --lmcl-scale is no longer ignored
    ],
)
def test_bad_settings_are_one_line_errors(method: str, settings: dict, message: str) -> None:
    cfg = TrainConfig(method=method, method_settings=settings, task="OCI->M")
    with pytest.raises(SettingsError) as info:
        check_method_settings(cfg)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_unknown_setting_exits_2_with_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code = train_main(["--method", "ssdg-r", "--set", "nope=1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "'nope'" in err and "lambda_trip" in err
    assert not out.exists()  # refused before the run folder or any data


def test_settings_are_typed_from_strings_and_toml_values() -> None:
    typed = coerce_settings(
        ModelConfig,
        {"scale": "8", "domain_hidden": "none", "share_stem": "false", "mean": "0.5,0.5,0.5"},
        method="disentangle",
    )
    assert typed == {
        "scale": 8.0,
        "domain_hidden": None,
        "share_stem": False,
        "mean": (0.5, 0.5, 0.5),
    }
    assert coerce_settings(ModelConfig, {"scale": 8, "feature_dim": 64}, method="x") == {
        "scale": 8.0,
        "feature_dim": 64,
    }
    with pytest.raises(SettingsError, match="feature_dim must be an integer"):
        coerce_settings(ModelConfig, {"feature_dim": 6.5}, method="x")
    names = settings_of(ModelConfig)
    assert "num_domains" not in names and "image_size" not in names  # the harness's
    assert names["w_dom"].default == 1.0 and "ours" in names["w_dom"].description


def test_shorthand_fields_are_settings_of_the_method() -> None:
    cfg = TrainConfig(variant="baseline", lmcl_scale=8.0, w_live_cnf=0.5)
    assert cfg.method_settings == {"variant": "baseline", "scale": 8.0, "w_live_cnf": 0.5}
    assert cfg.variant is None and "lmcl_scale" not in cfg.to_dict()


def test_a_qualified_setting_goes_to_its_method_only() -> None:
    cfg = TrainConfig(method_settings={"variant": "baseline", "ssdg-r.lambda_trip": 0.5})
    assert settings_for(cfg) == {"variant": "baseline"}
    assert settings_for(cfg, "ssdg-r") == {"lambda_trip": 0.5}
    check_method_settings(cfg)
    with pytest.raises(SettingsError, match="'ssdg-r' has no setting 'nope'"):
        check_method_settings(cfg.replace(method_settings={"ssdg-r.nope": 1}))


def test_the_listing_shows_each_methods_settings_and_defaults() -> None:
    text = describe_methods()
    for name in BUILT_IN:
        assert f"\n{name}: " in f"\n{text}"
    assert "lambda_trip = 2.0" in text and "variant = 'full'" in text
    assert "variants (protocol --variants): baseline, content, domain, full" in text


def test_register_method_takes_a_builder_or_a_registered_method() -> None:
    calls: list[MethodContext] = []

    def build(context: MethodContext):  # type: ignore[no-untyped-def]
        calls.append(context)
        return method_builder("disentangle")(context)

    try:
        register_method("test-plain", build)
        spec = register_method("test-alias", method_builder("disentangle"))
        assert spec.settings() == method_builder("disentangle").settings()
        with pytest.raises(ValueError, match="already registered"):
            register_method("test-plain", lambda c: build(c))
        ctx = MethodContext(("A", "B", "C"), "D", image_size=32, depth=10, warn_random=False)
        method = method_builder("test-plain")(ctx)
        assert calls == [ctx] and method.model.config.num_domains == 3  # type: ignore[attr-defined]
        with pytest.raises(SettingsError, match="takes no settings"):
            method_builder("test-plain").config(
                MethodContext(("A", "B"), settings={"variant": "baseline"})
            )
    finally:
        from disentangle_fas.methods import registry

        for name in ("test-plain", "test-alias"):
            registry._METHODS.pop(name, None)


def test_derive_seed_keeps_rank0_values_and_separates_every_stream_and_rank() -> None:
    assert derive_seed(3, "aug") == 3 * 7919 and derive_seed(3, "views") == 3 * 7919 + 1
    seeds = {derive_seed(s, stream, rank) for s in range(4) for stream in ("aug", "views", "x")
             for rank in range(4)}  # fmt: skip
    assert len(seeds) == 4 * 3 * 4  # no two streams or ranks share a seed
    assert derive_seed(0, "aug", rank=1) != derive_seed(0, "views", rank=0)  # the old collision
    assert derive_seed(0, "x", 2) == derive_seed(0, "x", 2) >= 0
    with pytest.raises(ValueError):
        derive_seed(0, "", 0)
    with pytest.raises(ValueError):
        derive_seed(0, "aug", -1)


def test_safas_views_under_ddp_differ_between_ranks() -> None:
    spec = method_builder("sa-fas")
    gens = [
        spec(MethodContext(("A", "B", "C"), image_size=32, depth=10, rank=r, warn_random=False))
        .generators["views"]  # type: ignore[attr-defined]
        .initial_seed()
        for r in (0, 1)
    ]
    assert gens[0] == derive_seed(0, "views") and gens[1] == derive_seed(0, "views", 1)
    assert gens[1] != derive_seed(0, "aug", 1)


def _library_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {n for n in found if n.startswith("disentangle_fas")}


#: Modules that re-export a method's old names (no code of their own).
COMPATIBILITY = {"model.py", "model_config.py", "ssdg", "ssan", "safas", "losses/objective.py"}


def test_no_module_outside_a_methods_folder_imports_one() -> None:
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        owner = rel.parts[1] if rel.parts[0] == "methods" and len(rel.parts) > 2 else None
        if any(str(rel) == c or rel.parts[0] == c for c in COMPATIBILITY):
            continue
        for name in _library_imports(path):
            for folder in FOLDERS:
                prefix = f"disentangle_fas.methods.{folder}"
                if (name == prefix or name.startswith(prefix + ".")) and owner != folder:
                    wrong.append(f"{rel} -> {name}")
    assert wrong == []


def test_a_checkpoint_of_the_old_kind_name_still_loads(tmp_path: Path) -> None:
    res = train(tiny_config(str(tmp_path / "run"), steps=2, eval_every=2), fake_task())
    path = Path(res.checkpoint)
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    doc = json.loads(meta["disentangle_fas"])
    assert doc["kind"] == "disentangle"
    doc["kind"] = "disentangled-fas"  # what files written before the method folders hold
    old = tmp_path / "old.safetensors"
    save_file(load_file(str(path)), str(old), metadata={**meta, "disentangle_fas": json.dumps(doc)})
    loaded = load_model(old)
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model.live_score(x), load_model(path).model.live_score(x))
    save_model(loaded.model, tmp_path / "again.safetensors")  # written under the new name
    with safe_open(str(tmp_path / "again.safetensors"), "pt") as f:
        assert json.loads(f.metadata()["disentangle_fas"])["kind"] == "disentangle"


PLUGIN = '''
"""A method of another package: the paper's baseline under a name of its own."""

from disentangle_fas.methods import method_builder, register_method


def build(context):
    settings = {"variant": "baseline", **context.settings}
    return method_builder("disentangle")(
        type(context)(**{**context.__dict__, "settings": settings})
    )


def register():
    register_method("plugin-erm", build)
'''


def test_a_plugin_package_adds_a_method_usable_everywhere(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "fas_plugin").mkdir(parents=True)
    (site / "fas_plugin" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    info = site / "fas_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fas-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[disentangle_fas.methods]\nplugin-erm = fas_plugin:register\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path]),
           "OMP_NUM_THREADS": "1"}  # fmt: skip
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "disentangle_fas"]
    listed = subprocess.run([*cmd, "methods"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and "plugin-erm" in listed.stdout, listed.stderr
    trained = subprocess.run(
        [*cmd, "train", "--method", "plugin-erm", "--steps", "2", "--eval-every", "2",
         "--batch-size", "6", "--image-size", "32", "--depth", "10", "--warmup-steps", "1",
         "--synthetic-train-per-domain", "6", "--synthetic-eval-per-domain", "4",
         "--no-progress", "--device", "cpu", "--out", str(run)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert json.loads((run / "config.json").read_text())["method"] == "plugin-erm"
    photo = tmp_path / "face.png"
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(photo)
    predicted = subprocess.run(
        [*cmd, "predict", "--checkpoint", str(run / "best_source_val.safetensors"),
         "--face-detector", "none", "--json", str(photo)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert 0.0 <= json.loads(predicted.stdout.splitlines()[0])["p_live"] <= 1.0


ENTRY_MODULE = """
from disentangle_fas.methods import method_builder, register_method
from disentangle_fas.methods.disentangle import DisentanglementMethod

def builder(context):
    return method_builder("disentangle")(context)

def hook():
    register_method("ep-hooked", builder)

Method = DisentanglementMethod
register_method("ep-on-import", builder)
"""


def test_each_kind_of_entry_point_registers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib.metadata import EntryPoint

    from disentangle_fas.methods import registry

    (tmp_path / "ep_mod.py").write_text(ENTRY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    group = registry.ENTRY_POINT_GROUP
    names = ["ep-on-import", "ep-builder", "ep-hooked", "ep-class", "ep-broken"]
    try:
        registry._load_entry_point(EntryPoint("ep-on-import", "ep_mod", group))
        registry._load_entry_point(EntryPoint("ep-builder", "ep_mod:builder", group))
        registry._load_entry_point(EntryPoint("ep-hooked", "ep_mod:hook", group))
        registry._load_entry_point(EntryPoint("ep-class", "ep_mod:Method", group))
        assert {"ep-on-import", "ep-builder", "ep-hooked", "ep-class"} <= set(_registered())
        ctx = MethodContext(("A", "B", "C"), image_size=32, depth=10, warn_random=False)
        assert method_builder("ep-class")(ctx).model.config.num_domains == 3  # type: ignore[attr-defined]
        monkeypatch.setattr(
            registry, "entry_points", lambda group: [EntryPoint("ep-broken", "no_such_mod", group)]
        )
        with pytest.warns(RuntimeWarning, match="'ep-broken'.*failed to load"):
            registry.load_methods(reload_plugins=True)
        with pytest.raises(ValueError, match="its plugin failed to load: ModuleNotFoundError"):
            method_builder("ep-broken")
    finally:
        for name in names:
            registry._METHODS.pop(name, None)
            registry._FAILED.pop(name, None)


def _registered() -> list[str]:
    from disentangle_fas.methods import registry

    return list(registry._METHODS)
