"""Convert the official PRNet TensorFlow checkpoint to this library's PRNet, without TensorFlow.

The official release (``github.com/YadiraF/PRNet``, MIT licence) ships
``Data/net-data/256_256_resfcn256_weight.{index,data-00000-of-00001}``, a TensorFlow 1
checkpoint of the ``resfcn256`` network built with ``tf.contrib.layers``, which names its
variables by layer type and call order inside the ``resfcn256`` variable scope:

* ``resfcn256/Conv/weights`` and ``resfcn256/Conv/BatchNorm/{gamma,beta,moving_mean,
  moving_variance}``: the 4x4 stem;
* ``resfcn256/resBlock{,_1..._9}/``: ``Conv`` (1x1, BN), ``Conv_1`` (4x4, BN), ``Conv_2``
  (1x1, no BN), ``shortcut`` (1x1, no BN, only where the shape changes) and ``BatchNorm``
  (after the addition);
* ``resfcn256/Conv2d_transpose{,_1..._16}/weights`` and ``.../BatchNorm/...``: the decoder.

Kernels are transposed from TensorFlow's layouts, ``(kh, kw, in, out)`` for convolutions
and ``(kh, kw, out, in)`` for transposed convolutions, to PyTorch's ``(out, in, kh, kw)``
and ``(in, out, kh, kw)``. Optimizer slots (``.../Adam``, ``.../Adam_1``, ``beta1_power``
...) and ``global_step`` are ignored; any other missing, extra or misshapen variable is
refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from disentangle_fas.errors import ArgumentParser, command
from disentangle_fas.targets.prnet import _DECODER, _ENCODER, PRNET_NUM_PARAMETERS, PRNet
from disentangle_fas.targets.prnet_io import load_prnet, save_prnet
from disentangle_fas.targets.tf_bundle import TensorBundle
from disentangle_fas.weights import check_weights

__all__ = [
    "OFFICIAL_CHECKPOINT",
    "PRNET_SCOPE",
    "TFVariable",
    "convert_prnet_checkpoint",
    "is_optimizer_state",
    "main",
    "prnet_tf_variables",
    "read_prnet_checkpoint",
]

#: Variable scope of the official network.
PRNET_SCOPE = "resfcn256"
#: Prefix of the checkpoint in the official release.
OFFICIAL_CHECKPOINT = "Data/net-data/256_256_resfcn256_weight"

_SLOT_SUFFIXES = (
    "/Adam",
    "/Adam_1",
    "/Momentum",
    "/RMSProp",
    "/RMSProp_1",
    "/ExponentialMovingAverage",
)
_NON_MODEL = frozenset(
    {"global_step", "beta1_power", "beta2_power", "_CHECKPOINTABLE_OBJECT_GRAPH"}
)
_OBJECT_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_BN = (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
       ("moving_variance", "running_var"))  # fmt: skip


@dataclass(frozen=True)
class TFVariable:
    """One model variable of the official checkpoint and where it goes.

    Attributes:
        name: TensorFlow name, e.g. ``"resfcn256/resBlock_3/Conv_1/weights"``.
        key: this library's state-dict key, e.g. ``"encoder.3.conv2.conv.weight"``.
        tf_shape: the shape TensorFlow stores.
        trainable: a trainable variable (kernels, gamma, beta) or a moving statistic.
    """

    name: str
    key: str
    tf_shape: tuple[int, ...]
    trainable: bool


def _suffix(i: int) -> str:
    return "" if i == 0 else f"_{i}"


def prnet_tf_variables(scope: str = PRNET_SCOPE) -> list[TFVariable]:
    """The official checkpoint's model variables, with their keys and shapes.

    Args:
        scope: the network's variable scope.

    Returns:
        245 variables (13,353,618 trainable values), in network order.
    """
    out: list[TFVariable] = []

    def conv(name: str, key: str, k: int, cin: int, cout: int) -> None:
        out.append(TFVariable(f"{scope}/{name}/weights", f"{key}.weight", (k, k, cin, cout), True))

    def tconv(name: str, key: str, k: int, cin: int, cout: int) -> None:
        out.append(TFVariable(f"{scope}/{name}/weights", f"{key}.weight", (k, k, cout, cin), True))

    def bn(name: str, key: str, c: int) -> None:
        for tf_part, torch_part in _BN:
            trainable = tf_part in ("gamma", "beta")
            out.append(
                TFVariable(f"{scope}/{name}/{tf_part}", f"{key}.{torch_part}", (c,), trainable)
            )

    conv("Conv", "stem.conv", 4, 3, 16)
    bn("Conv/BatchNorm", "stem.bn", 16)
    cin = 16
    for i, (cout, stride) in enumerate(_ENCODER):
        block, key, mid = f"resBlock{_suffix(i)}", f"encoder.{i}", cout // 2
        if stride != 1 or cin != cout:
            conv(f"{block}/shortcut", f"{key}.shortcut", 1, cin, cout)
        conv(f"{block}/Conv", f"{key}.conv1.conv", 1, cin, mid)
        bn(f"{block}/Conv/BatchNorm", f"{key}.conv1.bn", mid)
        conv(f"{block}/Conv_1", f"{key}.conv2.conv", 4, mid, mid)
        bn(f"{block}/Conv_1/BatchNorm", f"{key}.conv2.bn", mid)
        conv(f"{block}/Conv_2", f"{key}.conv3", 1, mid, cout)
        bn(f"{block}/BatchNorm", f"{key}.bn", cout)
        cin = cout
    for i, (cout, _) in enumerate(_DECODER):
        layer = f"Conv2d_transpose{_suffix(i)}"
        tconv(layer, f"decoder.{i}.conv", 4, cin, cout)
        bn(f"{layer}/BatchNorm", f"decoder.{i}.bn", cout)
        cin = cout
    return out


def is_optimizer_state(name: str) -> bool:
    """Whether a checkpoint name is optimizer or bookkeeping state, not a model variable.

    Args:
        name: a TensorFlow variable name.

    Returns:
        ``True`` for slots (``.../Adam``, ``.../Adam_1``, ``.../Momentum``, ``.../RMSProp``
        ...), ``beta1_power``, ``beta2_power``, ``global_step`` and the object graph.
    """
    base = name.rsplit("/", 1)[-1]
    return name in _NON_MODEL or base in _NON_MODEL or name.endswith(_SLOT_SUFFIXES)


def _normalise(name: str) -> str:
    return name[: -len(_OBJECT_SUFFIX)] if name.endswith(_OBJECT_SUFFIX) else name


def read_prnet_checkpoint(
    prefix: str | os.PathLike[str],
    *,
    scope: str = PRNET_SCOPE,
    verify_checksums: bool = True,
) -> dict[str, Tensor]:
    """Read the official PRNet checkpoint into a state dict of this library's layout.

    Args:
        prefix: checkpoint prefix (the shared part of ``*.index`` and ``*.data-*``).
        scope: the network's variable scope.
        verify_checksums: check the CRC32C of the index and of every tensor.

    Returns:
        Float32 tensors under :class:`~disentangle_fas.targets.PRNet`'s keys (kernels in
        PyTorch layout; ``num_batches_tracked`` zero).

    Raises:
        FileNotFoundError: no checkpoint at ``prefix``.
        ValueError: not a checkpoint; missing, extra or misshapen model variables;
            non-floating variables; a trainable-parameter count other than 13,353,618.
    """
    bundle = TensorBundle(prefix, verify_checksums=verify_checksums)
    names = {_normalise(n): n for n in bundle.names() if not is_optimizer_state(_normalise(n))}
    expected = prnet_tf_variables(scope)
    known = {v.name for v in expected}
    missing = [v.name for v in expected if v.name not in names]
    extra = sorted(n for n in names if n not in known)
    where = str(bundle.prefix)
    if missing or extra:
        raise ValueError(
            f"{where}: not the official PRNet (resfcn256) checkpoint: {len(missing)} missing "
            f"model variables {missing[:4]}, {len(extra)} unexpected variables {extra[:4]} "
            "(optimizer slots are ignored)"
        )
    for var in expected:  # every shape before any data is read
        entry = bundle.entries[names[var.name]]
        if entry.shape != var.tf_shape:
            raise ValueError(
                f"{where}: {var.name} has shape {list(entry.shape)}, resfcn256 needs "
                f"{list(var.tf_shape)}"
            )
    state: dict[str, Tensor] = {}
    trainable = 0
    for var in expected:
        array = bundle.read(names[var.name])
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"{where}: {var.name} is {array.dtype}, expected floating point")
        if array.ndim == 4:  # (kh, kw, a, b) -> (b, a, kh, kw) for both kinds of kernel
            array = array.transpose(3, 2, 0, 1)
        state[var.key] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
        trainable += array.size if var.trainable else 0
    if trainable != PRNET_NUM_PARAMETERS:  # pragma: no cover - guaranteed by the shapes
        raise ValueError(
            f"{where}: {trainable} trainable values, resfcn256 has {PRNET_NUM_PARAMETERS}"
        )
    for key in PRNet().state_dict():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.zeros((), dtype=torch.long)
    return state


def convert_prnet_checkpoint(
    prefix: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    scope: str = PRNET_SCOPE,
    verify_checksums: bool = True,
) -> Path:
    """Convert the official TensorFlow checkpoint to a weights file and check it loads.

    Args:
        prefix: checkpoint prefix.
        out: destination (``.safetensors`` recommended; anything else is a state dict
            written with ``torch.save``).
        scope: the network's variable scope.
        verify_checksums: check CRC32C checksums.

    Returns:
        The path written, readable by :func:`~disentangle_fas.targets.load_prnet`.

    Raises:
        FileNotFoundError, ValueError: see :func:`read_prnet_checkpoint`.
        NonFiniteWeightsError: the checkpoint holds NaN or infinite values (nothing is
            written).
    """
    state = read_prnet_checkpoint(prefix, scope=scope, verify_checksums=verify_checksums)
    check_weights(state, os.fspath(prefix))  # NaN or infinite values: nothing is written
    net = PRNet()
    net.load_state_dict(state, strict=True)
    dest = Path(out).expanduser()
    dest.parent.mkdir(parents=True, exist_ok=True)
    save_prnet(net, dest)
    load_prnet(dest)  # the written file must load as it will be used
    return dest


@command("disentangle-fas convert-prnet")
def main(argv: list[str]) -> int:
    """Run ``disentangle-fas convert-prnet PREFIX --out FILE``.

    Args:
        argv: command-line arguments after the subcommand.

    Returns:
        0 on success; errors follow the commands' policy (one line on stderr): 2 for a bad
        or missing checkpoint, 3 for NaN or infinite weights, 1 for a file that cannot be
        written.
    """
    p = ArgumentParser(
        prog="disentangle-fas convert-prnet",
        description="Convert the official PRNet TensorFlow checkpoint "
        f"({OFFICIAL_CHECKPOINT}.index + .data-00000-of-00001) to safetensors, "
        "without TensorFlow.",
    )
    p.add_argument("prefix", help="checkpoint prefix, e.g. " + OFFICIAL_CHECKPOINT)
    p.add_argument("--out", type=Path, required=True, help="output file, e.g. prnet.safetensors")
    p.add_argument("--scope", default=PRNET_SCOPE, help="variable scope of the network")
    p.add_argument("--no-verify", action="store_true", help="skip the CRC32C checks")
    args = p.parse_args(argv)
    dest = convert_prnet_checkpoint(
        args.prefix, args.out, scope=args.scope, verify_checksums=not args.no_verify
    )
    print(f"wrote {dest}: PRNet resfcn256, {PRNET_NUM_PARAMETERS:,} trainable parameters")
    return 0
