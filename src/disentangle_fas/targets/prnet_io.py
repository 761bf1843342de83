"""Load and save PRNet weights from local files (safetensors or weights-only state dicts).

Nothing here downloads anything. Files are read by the library's one weights reader,
:func:`~disentangle_fas.weights.load_state_dict_file`: pickled checkpoints go
through ``torch.load(path, weights_only=True)``, which refuses any pickle that would build
objects other than tensors and plain containers, so a checkpoint cannot run code on load.

Two key layouts are understood: this library's (:class:`~disentangle_fas.targets.PRNet`'s
own ``state_dict``) and that of the ``pytorchcv`` port (``features.init_block``,
``features.encoder.stageS.unitU``, ``features.decoder.stageS.unitU``, ``output.convN``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor

from disentangle_fas._io import atomic_path, save_safetensors
from disentangle_fas.targets.prnet import PRNet
from disentangle_fas.weights import check_local_path, check_weights, load_state_dict_file

__all__ = ["convert_pytorchcv_state_dict", "load_prnet", "save_prnet"]

_PYTORCHCV_ENCODER_STAGES = (2, 2, 2, 2, 2)
_PYTORCHCV_DECODER_STAGES = (1, 3, 3, 3, 2, 2)
_PYTORCHCV_OUTPUT_OFFSET = sum(_PYTORCHCV_DECODER_STAGES) - 1  # output.conv1 -> decoder.14

_RE_INIT = re.compile(r"^features\.init_block\.(.+)$")
_RE_ENC = re.compile(r"^features\.encoder\.stage(\d+)\.unit(\d+)\.(.+)$")
_RE_DEC = re.compile(r"^features\.decoder\.stage(\d+)\.unit(\d+)\.(.+)$")
_RE_OUT = re.compile(r"^output\.conv(\d+)\.(.+)$")


def _stage_offset(stages: tuple[int, ...], stage: int, unit: int, key: str) -> int:
    if not 1 <= stage <= len(stages) or not 1 <= unit <= stages[stage - 1]:
        raise ValueError(f"unexpected pytorchcv PRNet key {key!r} (no such stage/unit)")
    return sum(stages[: stage - 1]) + unit - 1


def _map_pytorchcv_key(key: str) -> str:
    if m := _RE_INIT.match(key):
        return f"stem.{m.group(1)}"
    if m := _RE_ENC.match(key):
        i = _stage_offset(_PYTORCHCV_ENCODER_STAGES, int(m.group(1)), int(m.group(2)), key)
        rest = m.group(3)
        for old, new in (
            ("identity_conv.", "shortcut."),
            ("body.conv1.", "conv1."),
            ("body.conv2.", "conv2."),
            ("body.conv3.", "conv3."),
            ("norm_activ.bn.", "bn."),
        ):
            if rest.startswith(old):
                return f"encoder.{i}.{new}{rest[len(old) :]}"
        raise ValueError(f"unexpected pytorchcv PRNet key {key!r}")
    if m := _RE_DEC.match(key):
        i = _stage_offset(_PYTORCHCV_DECODER_STAGES, int(m.group(1)), int(m.group(2)), key)
        return f"decoder.{i}.{m.group(3)}"
    if m := _RE_OUT.match(key):
        n = int(m.group(1))
        if not 1 <= n <= 3:
            raise ValueError(f"unexpected pytorchcv PRNet key {key!r}")
        return f"decoder.{_PYTORCHCV_OUTPUT_OFFSET + n}.{m.group(2)}"
    raise ValueError(f"unexpected pytorchcv PRNet key {key!r}")


def convert_pytorchcv_state_dict(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename the keys of a ``pytorchcv`` PRNet state dict to this library's layout.

    Args:
        state_dict: ``pytorchcv.model_provider.get_model("prnet").state_dict()`` or a file
            saved from it.

    Returns:
        The same tensors under :class:`~disentangle_fas.targets.PRNet`'s keys.

    Raises:
        ValueError: a key that is not part of the pytorchcv PRNet layout.
    """
    return {_map_pytorchcv_key(k): v for k, v in state_dict.items()}


def _to_own_layout(sd: dict[str, Tensor], own_keys: set[str], path: Path) -> dict[str, Tensor]:
    if any(k in own_keys for k in sd):
        return sd
    if any(k.startswith(("features.init_block.", "features.encoder.")) for k in sd):
        try:
            return convert_pytorchcv_state_dict(sd)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
    sample = sorted(sd)[:4]
    raise ValueError(
        f"{path}: unknown PRNet key layout (first keys: {sample}). Expected this library's "
        "layout (e.g. 'stem.conv.weight', 'encoder.0.conv1.conv.weight', "
        "'decoder.16.bn.running_var') or the pytorchcv port's (e.g. "
        "'features.init_block.conv.weight', 'output.conv3.bn.weight'). Convert the official "
        "TensorFlow checkpoint first: disentangle-fas convert-prnet PREFIX --out prnet.safetensors"
    )


def load_prnet(path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu") -> PRNet:
    """Build a :class:`~disentangle_fas.targets.PRNet` from a local weights file.

    Args:
        path: a ``.safetensors`` file or a PyTorch state dict (``.pt``/``.pth``; possibly
            wrapped as ``{"state_dict": ...}``), in this library's key layout or the
            ``pytorchcv`` port's. ``num_batches_tracked`` entries may be missing.
        map_location: device for the returned network.

    Returns:
        The network in eval mode, with ``weights_source`` set to ``path``.

    Raises:
        FileNotFoundError: ``path`` does not exist or is not a file.
        ValueError: unreadable file, a pickle that holds more than weights (refused, never
            executed), unknown key layout, missing/unexpected keys, a shape mismatch, or
            integer tensors for floating-point weights.
        NonFiniteWeightsError: NaN or infinite values (exit code 3).
    """
    check_local_path(os.fspath(path))
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(
            f"PRNet weights not found at {str(p)!r}. The library never downloads weights: "
            "pass the path of a local .safetensors or .pt state dict (see "
            "docs/content_targets.md: convert the official release with disentangle-fas "
            "convert-prnet)."
        )
    sd = load_state_dict_file(p)
    net = PRNet()
    expected = net.state_dict()
    sd = _to_own_layout(sd, set(expected), p)
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(sd) - optional)
    unexpected = sorted(set(sd) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{p}: PRNet state dict does not match the architecture: "
            f"{len(missing)} missing keys {missing[:5]}, "
            f"{len(unexpected)} unexpected keys {unexpected[:5]}"
        )
    check_weights(sd, p, expected)  # finiteness is checked when the file is read
    for key, value in sd.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ValueError(
                f"{p}: shape mismatch for {key!r}: file has {tuple(value.shape)}, "
                f"PRNet expects {tuple(expected[key].shape)}"
            )
    full = {k: sd[k].to(expected[k].dtype) if k in sd else expected[k] for k in expected}
    net.load_state_dict(full, strict=True)
    net.weights_source = str(p)
    return net.to(map_location).eval()


def save_prnet(net: PRNet, path: str | os.PathLike[str]) -> Path:
    """Save a PRNet's state dict: safetensors for ``*.safetensors``, else ``torch.save``.

    Args:
        net: the network.
        path: destination file.

    Returns:
        The path written.
    """
    p = Path(path).expanduser()
    sd = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
    if p.suffix == ".safetensors":
        save_safetensors(p, sd)
    else:
        with atomic_path(p) as tmp:
            torch.save(sd, tmp)
    return p
