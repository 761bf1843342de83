"""Grad-CAM on the liveness path E_L + C_L (the paper's Fig. 2).

The class activation maps come from the ``grad-cam`` package (pytorch-grad-cam, an
optional extra: ``pip install "disentangle-fas[explain]"``). Every model's
``liveness_path()`` (:class:`~disentangle_fas.contracts.LivenessPath`) is the input
normalisation, E_L and C_L as one module whose output is the 2-class logits (index 0 =
spoof, 1 = live), so the package's standard ``ClassifierOutputTarget`` applies unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from disentangle_fas.contracts import LivenessModel, LivenessPath
from disentangle_fas.explain.names import CAM_METHODS

__all__ = [
    "CAM_METHODS",
    "GradCAMResult",
    "LivenessLogits",
    "check_images",
    "liveness_gradcam",
    "resolve_target_layer",
]

CamTarget = Literal["predicted", "live", "spoof"] | int | Tensor


#: The inference path as a 2-class classifier (``normalize -> E_L -> C_L``); Grad-CAM on it
#: explains the model its parts belong to. An alias of
#: :class:`~disentangle_fas.contracts.LivenessPath`, which every model returns from
#: ``liveness_path()``.
LivenessLogits = LivenessPath


class GradCAMResult(NamedTuple):
    """Grad-CAM maps of a batch and the classifier's view of it.

    Attributes:
        maps: ``(B, H, W)`` float32 maps in ``[0, 1]`` at the input's size (each map is
            min-max scaled on its own; an all-zero map means no positive evidence).
        scores: ``(B,)`` P(live).
        targets: ``(B,)`` the class each map explains (1 live, 0 spoof).
        layer_size: ``(h, w)`` of the target layer's activations, the resolution the map
            really has before upsampling (a ``1 x 1`` layer cannot localise anything).
    """

    maps: Tensor
    scores: Tensor
    targets: Tensor
    layer_size: tuple[int, int]


def check_images(images: Tensor) -> None:
    """Raise a clear error unless ``images`` is a float ``(B, 3, H, W)`` batch in ``[0, 1]``.

    Raises:
        TypeError: not a floating-point tensor.
        ValueError: wrong shape, empty batch or values outside ``[0, 1]``.
    """
    if not isinstance(images, Tensor) or not images.is_floating_point():
        raise TypeError("images must be a floating-point tensor (B, 3, H, W) in [0, 1]")
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[0] == 0:
        raise ValueError(
            f"expected images of shape (B, 3, H, W) with B > 0, got {tuple(images.shape)}"
        )
    lo, hi = float(images.min()), float(images.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise ValueError(
            f"images must be RGB in [0, 1] (the model normalises them itself), got values in "
            f"[{lo:.3g}, {hi:.3g}]"
        )


def resolve_target_layer(encoder: nn.Module, layer: str | nn.Module | None = None) -> nn.Module:
    """Find the layer of E_L whose activations Grad-CAM weighs.

    Args:
        encoder: E_L.
        layer: ``None`` for the encoder's last block: the last block of ``layer4`` for
            ResNets (the default of the paper's figure), the encoder's ``cam_layer`` when it
            has one (projected and timm encoders), else the last parameterised block found
            from the end (the last stage of a MobileNet / EfficientNet trunk); a dotted name relative to the encoder
            (``"layer3"``, ``"layer4.0"``, ``"trunk.11"``), or a module of the encoder.

    Returns:
        The module.

    Raises:
        ValueError: the name does not exist, or the module is not part of the encoder.
    """
    if layer is None:
        layer4 = getattr(encoder, "layer4", None)
        if isinstance(layer4, nn.Sequential) and len(layer4) > 0:
            last: nn.Module = layer4[-1]
            return last
        return _last_block(encoder)
    if isinstance(layer, str):
        try:
            return encoder.get_submodule(layer)
        except AttributeError as err:
            names = [n for n, _ in encoder.named_children()]
            raise ValueError(
                f"E_L has no layer {layer!r}; use a dotted name such as 'layer4', 'layer3.0' "
                f"(top-level children: {names})"
            ) from err
    if not any(m is layer for m in encoder.modules()):
        raise ValueError("target_layer must be a module of the liveness encoder E_L")
    return layer


def _last_block(encoder: nn.Module) -> nn.Module:
    """The encoder's ``cam_layer`` if it names one, else its last block.

    The last block: descend from the encoder through the last child that has parameters
    while that child is a plain container (``nn.Sequential`` / ``ModuleList`` /
    ``ModuleDict``), and return the first one that is not.
    """
    explicit = getattr(encoder, "cam_layer", None)
    if isinstance(explicit, nn.Module):
        return explicit
    containers = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
    module = encoder
    while True:
        children = [c for c in module.children() if any(True for _ in c.parameters())]
        if not children:
            if module is encoder:
                raise ValueError("the encoder has no layers; pass target_layer explicitly")
            return module
        last = children[-1]
        if type(last) not in containers:
            return last
        module = last


def _import_cam(method: str) -> Any:
    if method not in CAM_METHODS:
        raise ValueError(f"unknown CAM method {method!r}; choose one of {sorted(CAM_METHODS)}")
    try:
        import pytorch_grad_cam
    except ImportError as err:
        raise ImportError(
            'Grad-CAM needs the grad-cam package: pip install "disentangle-fas[explain]"'
        ) from err
    return getattr(pytorch_grad_cam, CAM_METHODS[method])


def _class_targets(target: CamTarget, logits: Tensor) -> Tensor:
    batch = logits.shape[0]
    if isinstance(target, Tensor):
        t = target.to(device="cpu", dtype=torch.long).reshape(-1)
        if t.numel() != batch:
            raise ValueError(f"target has {t.numel()} entries for a batch of {batch}")
    elif target == "predicted":
        t = logits.argmax(dim=1).cpu()
    elif target == "live":
        t = torch.ones(batch, dtype=torch.long)
    elif target == "spoof":
        t = torch.zeros(batch, dtype=torch.long)
    elif isinstance(target, int) and not isinstance(target, bool):
        t = torch.full((batch,), target, dtype=torch.long)
    else:
        raise ValueError(
            f"target must be 'predicted', 'live', 'spoof', 0, 1 or a (B,) tensor, got {target!r}"
        )
    if bool(((t < 0) | (t > 1)).any()):
        raise ValueError("class targets must be 0 (spoof) or 1 (live)")
    return t


@contextmanager
def _untouched(module: nn.Module) -> Iterator[None]:
    """Restore train/eval flags, ``requires_grad`` and ``.grad`` of ``module`` on exit."""
    modes = [(m, m.training) for m in module.modules()]
    params = list(module.parameters())
    state = [(p, p.requires_grad, p.grad) for p in params]
    try:
        for p in params:
            p.requires_grad_(False)  # gradients flow through the input instead
        yield
    finally:
        for m, training in modes:
            m.training = training
        for p, flag, grad in state:
            p.requires_grad_(flag)
            p.grad = grad


def liveness_gradcam(
    model: LivenessModel | LivenessPath,
    images: Tensor,
    *,
    target: CamTarget = "predicted",
    target_layer: str | nn.Module | None = None,
    method: str = "gradcam",
) -> GradCAMResult:
    """Compute class activation maps of the liveness classifier for a batch.

    The model is evaluated in eval mode (batch-norm running statistics); its modes,
    parameter ``requires_grad`` flags and ``.grad`` fields are restored afterwards.

    Args:
        model: any :class:`~disentangle_fas.contracts.LivenessModel` (its
            ``liveness_path()`` is used) or a :class:`~disentangle_fas.contracts.LivenessPath`.
        images: RGB in ``[0, 1]``.
        target: the class to explain: ``"predicted"`` (argmax), ``"live"`` (1),
            ``"spoof"`` (0), an int, or a ``(B,)`` tensor of classes (e.g. the labels).
        target_layer: see :func:`resolve_target_layer` (default: last block of layer4).
        method: one of :data:`CAM_METHODS` (default Grad-CAM).

    Returns:
        :class:`GradCAMResult`.

    Shape:
        - images: ``(B, 3, H, W)``.
        - maps: ``(B, H, W)``; scores and targets: ``(B,)``.

    Raises:
        ImportError: the ``grad-cam`` package is not installed.
        TypeError, ValueError: bad images, target or layer.
    """
    check_images(images)
    wrapper = model if isinstance(model, LivenessPath) else model.liveness_path()
    layer = resolve_target_layer(wrapper.encoder, target_layer)
    cam_cls = _import_cam(method)
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    device = next(wrapper.parameters()).device
    x = images.detach().to(device=device, dtype=torch.float32).requires_grad_(True)
    with _untouched(wrapper), torch.enable_grad():
        cam = cam_cls(model=wrapper, target_layers=[layer])
        try:
            with torch.no_grad():
                logits = wrapper(x)
            classes = _class_targets(target, logits)
            maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(int(c)) for c in classes])
            acts = cam.activations_and_grads.activations
            layer_size = (int(acts[0].shape[-2]), int(acts[0].shape[-1])) if acts else (0, 0)
        finally:
            cam.activations_and_grads.release()
    maps_t = torch.from_numpy(np.ascontiguousarray(maps, dtype=np.float32)).clamp_(0.0, 1.0)
    scores = torch.softmax(logits.detach().float(), dim=1)[:, 1].cpu()
    return GradCAMResult(maps=maps_t, scores=scores, targets=classes, layer_size=layer_size)
