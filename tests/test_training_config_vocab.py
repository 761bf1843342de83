"""TrainConfig parses its vocabulary fields into the library's enums at the edge; the
method's own settings (the paper's variant among them) are checked against its config."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from disentangle_fas.contracts import Variant
from disentangle_fas.methods import SettingsError
from disentangle_fas.metrics import CheckpointPolicy, ThresholdStrategy
from disentangle_fas.training import TrainConfig, load_config
from disentangle_fas.training.config_io import add_config_arguments, config_from_args
from disentangle_fas.training.methods import check_method_settings, uses_content


def test_strings_become_enum_members_and_to_dict_writes_strings() -> None:
    cfg = TrainConfig(variant="content", threshold="oracle_target_eer", checkpoint_policy="last")
    assert cfg.method_settings == {"variant": "content"} and cfg.variant is None
    assert uses_content(cfg)
    assert cfg.threshold is ThresholdStrategy.ORACLE_TARGET_EER
    assert cfg.checkpoint_policy is CheckpointPolicy.LAST
    d = cfg.to_dict()
    assert (d["method_settings"], d["threshold"], d["checkpoint_policy"]) == (
        {"variant": "content"},
        "oracle_target_eer",
        "last",
    )
    assert "variant" not in d  # a shorthand, folded into the settings
    assert all(type(d[k]) is str for k in ("threshold", "checkpoint_policy"))
    assert TrainConfig(**json.loads(json.dumps(d))) == cfg  # the round trip of config.json
    assert TrainConfig().method_settings == {}
    assert cfg.replace(variant=Variant.DOMAIN).method_settings == {"variant": "domain"}


def test_an_unknown_variant_names_the_accepted_ones_before_any_work() -> None:
    cfg = TrainConfig(variant="everything", task="OCI->M")
    with pytest.raises(SettingsError) as info:
        check_method_settings(cfg)
    message = str(info.value)
    assert len(message.splitlines()) == 1 and "variant" in message and "'everything'" in message
    assert all(v.value in message for v in Variant)


@pytest.mark.parametrize(
    ("field", "bad", "accepted"),
    [
        ("threshold", "fixed", ["source_val_eer", "oracle_target_eer"]),
        ("checkpoint_policy", "best", [p.value for p in CheckpointPolicy]),
    ],
)
def test_unknown_values_name_the_accepted_ones(field: str, bad: str, accepted: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        TrainConfig(**{field: bad})  # type: ignore[arg-type]
    message = str(info.value)
    assert len(message.splitlines()) == 1 and field in message and repr(bad) in message
    assert all(name in message for name in accepted)


def test_toml_and_flags_accept_strings(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('variant = "baseline"\ncheckpoint_policy = "oracle_best_target"\n')
    cfg = load_config(toml)
    assert cfg.method_settings == {"variant": "baseline"}
    assert cfg.checkpoint_policy is CheckpointPolicy.ORACLE_BEST_TARGET
    toml.write_text("variant = 3\n")
    with pytest.raises(TypeError, match="variant"):
        load_config(toml)
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    args = parser.parse_args(["--variant", "domain", "--threshold", "oracle_target_eer"])
    flagged = config_from_args(args)
    assert flagged.method_settings == {"variant": "domain"}
    assert flagged.threshold is ThresholdStrategy.ORACLE_TARGET_EER
    with pytest.raises(SettingsError, match="'nope'"):
        check_method_settings(config_from_args(parser.parse_args(["--variant", "nope"])))
