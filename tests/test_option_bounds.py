"""Options out of their range are refused in one line before anything is rendered or
written (a NaN gradient clip, a cosine margin of 5, negative warm-up or workers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from disentangle_fas.cli import main as cli_main
from disentangle_fas.errors import EXIT_USAGE
from disentangle_fas.heads import MAX_LMCL_MARGIN, LMCLHead
from disentangle_fas.training.config import TrainConfig

BAD = [
    (["--grad-clip", "nan"], "grad_clip must be a finite number"),
    (["--grad-clip", "-1"], "grad_clip must not be negative"),
    (["--lr", "nan"], "lr must be a finite number"),
    (["--weight-decay", "inf"], "weight_decay must be a finite number"),
    (["--warmup-steps", "-10"], "warmup_steps must not be negative"),
    (["--num-workers", "-1"], "num_workers must not be negative"),
    (["--lmcl-margin", "5"], f"margin must lie in [0, {MAX_LMCL_MARGIN}]"),
]


@pytest.mark.parametrize(("flags", "message"), BAD, ids=[" ".join(f) for f, _ in BAD])
def test_train_refuses_out_of_range_options_before_writing(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code = cli_main(["train", "--image-size", "32", "--depth", "10", *flags, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_USAGE and err.count("\n") == 0 and message in err, err
    assert not (out / "config.json").exists()  # refused before the run folder was used


def test_config_and_head_bounds_directly() -> None:
    with pytest.raises(ValueError, match="grad_clip must be a finite number"):
        TrainConfig(grad_clip=float("nan"))
    TrainConfig(grad_clip=0.0, warmup_steps=0, num_workers=0)  # the edges are allowed
    LMCLHead(8, margin=MAX_LMCL_MARGIN)
    with pytest.raises(ValueError, match="margin must lie in"):
        LMCLHead(8, margin=1.5)


@pytest.mark.parametrize("flags", [["--variant", "baseline"], ["--set", "variant=baseline"]])
def test_protocol_refuses_a_variant_that_variants_would_replace(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["protocol", *flags, "--variants", "full"]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "would be replaced in every run by --variants" in err
