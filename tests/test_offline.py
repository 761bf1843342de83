"""Offline by construction: no command opens a network connection, not even when a
checkpoint, a flag or the environment asks for one (hub backbone names, URLs as weight
paths, ``HF_ENDPOINT``).

Each command runs in a subprocess whose ``sitecustomize`` replaces the socket calls that
reach the network (connect, name resolution) with a tripwire that records the attempt in
a file and raises; child processes (protocol workers, data loaders) inherit it through
``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors import safe_open
from safetensors.torch import load_file, save_file

SRC = Path(__file__).resolve().parents[1] / "src"

SITECUSTOMIZE = r"""
import os, socket

_LOG = os.environ["NETWORK_TRIPWIRE"]


def _trip(what):
    def call(*args, **kwargs):
        with open(_LOG, "a") as fh:
            fh.write(f"{what} {args[:2]!r}\n")
        raise OSError(f"network access attempted: {what}")
    return call


socket.socket.connect = _trip("connect")
socket.socket.connect_ex = _trip("connect_ex")
socket.create_connection = _trip("create_connection")
socket.getaddrinfo = _trip("getaddrinfo")
socket.gethostbyname = _trip("gethostbyname")
"""

TINY = [
    "--steps", "2", "--eval-every", "2", "--batch-size", "6", "--depth", "10",
    "--image-size", "32", "--content-size", "8", "--synthetic-train-per-domain", "8",
    "--synthetic-eval-per-domain", "8", "--no-progress", "--warmup-steps", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    site = tmp_path_factory.mktemp("site")
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = site / "network.log"
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(SRC)]),
        "NETWORK_TRIPWIRE": str(log),
        "OMP_NUM_THREADS": "1",
        "HF_ENDPOINT": "http://127.0.0.1:9/",
        "HF_HUB_OFFLINE": "0",
        "DISENTANGLE_FAS_CACHE": "off",
    }


def _run(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "disentangle_fas", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _attempts(env: dict[str, str]) -> str:
    log = Path(env["NETWORK_TRIPWIRE"])
    return log.read_text() if log.exists() else ""


def test_the_tripwire_fires(sandbox: dict[str, str], tmp_path: Path) -> None:
    code = "import urllib.request as u; u.urlopen('http://example.com', timeout=1)"
    proc = subprocess.run([sys.executable, "-c", code], env=sandbox, capture_output=True, text=True)
    assert proc.returncode != 0 and "network access attempted" in proc.stderr
    assert "getaddrinfo" in _attempts(sandbox) or "connect" in _attempts(sandbox)
    Path(sandbox["NETWORK_TRIPWIRE"]).unlink()


@pytest.fixture(scope="module")
def trained(sandbox: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    proc = _run(sandbox, "train", *TINY, "--out", str(out / "r"), cwd=out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _attempts(sandbox) == ""
    return out / "r" / "last.safetensors"


def _hub_checkpoint(src: Path, dest: Path, backbone: str) -> Path:
    with safe_open(str(src), framework="pt") as f:
        meta = json.loads(f.metadata()["disentangle_fas"])
    meta["config"]["backbone"] = backbone
    save_file(load_file(str(src)), str(dest), metadata={"disentangle_fas": json.dumps(meta)})
    return dest


HUB_NAMES = [
    "timm:hf-hub:attacker/evil-model",
    "timm:hf_hub:attacker/evil-model",
    "hf-hub:attacker/evil-model",
    "timm:https://example.com/model.pth",
    "torch.hub:pytorch/vision:resnet18",
    "https://example.com/resnet18.pth",
]


@pytest.mark.parametrize("backbone", HUB_NAMES)
def test_crafted_checkpoints_and_flags_never_reach_the_network(
    backbone: str, sandbox: dict[str, str], trained: Path, tmp_path: Path
) -> None:
    bad = _hub_checkpoint(trained, tmp_path / "hub.safetensors", backbone)
    image = tmp_path / "face.png"
    from PIL import Image

    Image.new("RGB", (40, 40), (120, 90, 80)).save(image)
    commands = [
        ["predict", "--checkpoint", str(bad), "--box", "0,0,40,40", str(image)],
        ["export", "--checkpoint", str(bad), "--onnx", str(tmp_path / "m.onnx")],
        ["explain", "--checkpoint", str(bad), "--out", str(tmp_path / "ex")],
        ["evaluate", "--checkpoint", str(bad), *TINY[6:12]],
        ["train", *TINY, "--backbone", backbone, "--out", str(tmp_path / "t")],
        ["protocol", *TINY, "--backbone", backbone, "--tasks", "OCI->M", "--seeds", "1",
         "--out", str(tmp_path / "p")],
    ]  # fmt: skip
    # Every command with the first name; the others reach the same check, through predict.
    for args in commands if backbone == HUB_NAMES[0] else commands[:1]:
        proc = _run(sandbox, *args, cwd=tmp_path)
        err = proc.stderr.strip().splitlines()
        assert proc.returncode == 2, (args[0], proc.returncode, proc.stderr[-1500:])
        assert err and "error:" in err[-1] and "Traceback" not in proc.stderr, (args[0], err)
        assert _attempts(sandbox) == "", (args[0], _attempts(sandbox))


def test_urls_as_weight_paths_are_missing_files_not_downloads(
    sandbox: dict[str, str], trained: Path, tmp_path: Path
) -> None:
    for flag in ("--imagenet-weights", "--prnet-weights"):
        extra = ["--content-target", "prnet"] if flag == "--prnet-weights" else []
        proc = _run(
            sandbox,
            "train", *TINY, *extra, flag, "https://example.com/w.pth", "--out", str(tmp_path / flag),
            cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr[-1500:]
        assert "https://example.com/w.pth: a URL, not a local file" in proc.stderr
        assert _attempts(sandbox) == ""
    image = tmp_path / "face.png"
    from PIL import Image

    Image.new("RGB", (40, 40), (120, 90, 80)).save(image)
    proc = _run(sandbox, "predict", "--checkpoint", str(trained), "--box", "0,0,40,40",
                "--json", str(image), cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert 0.0 <= json.loads(proc.stdout.splitlines()[0])["p_live"] <= 1.0
    assert _attempts(sandbox) == ""
