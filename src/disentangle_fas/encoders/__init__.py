"""Encoders: any backbone behind one contract, and the paper's three encoders.

Every encoder follows :class:`~disentangle_fas.contracts.Encoder` (as in timm): ``forward(x)``
returns the last feature map ``(B, num_features, h, w)`` and ``num_features`` gives its
channel count. Heads pool the map themselves (:func:`disentangle_fas.heads.pool`).
:func:`create_encoder` builds ResNets, torchvision MobileNets / EfficientNets, timm models
(``"timm:<name>"``) or passes a user's module through. The torchvision MobileNets /
EfficientNets get a corrected depthwise initialisation and batch-norm momentum 0.1
(:func:`init_grouped_convs`, :func:`set_batchnorm_momentum`; why in
:mod:`disentangle_fas.encoders.backbones`).
"""

from typing import TYPE_CHECKING

from disentangle_fas._lazy import lazy_exports

if TYPE_CHECKING:
    from disentangle_fas.encoders.backbones import (
        BN_MOMENTUM,
        TORCHVISION_BACKBONES,
        ProjectedEncoder,
        TimmEncoder,
        TorchvisionEncoder,
        init_grouped_convs,
        set_batchnorm_momentum,
    )
    from disentangle_fas.encoders.factory import available_backbones, create_encoder
    from disentangle_fas.encoders.resnet import ENCODER_DEPTHS, ResNetEncoder, Stem
    from disentangle_fas.encoders.shared import (
        DisentangledEncoders,
        EncoderMaps,
        SharedStemEncoders,
    )
    from disentangle_fas.weights import RefusedPickleError, load_state_dict_file

__all__ = [
    "BN_MOMENTUM",
    "ENCODER_DEPTHS",
    "TORCHVISION_BACKBONES",
    "DisentangledEncoders",
    "EncoderMaps",
    "ProjectedEncoder",
    "RefusedPickleError",
    "ResNetEncoder",
    "SharedStemEncoders",
    "Stem",
    "TimmEncoder",
    "TorchvisionEncoder",
    "available_backbones",
    "create_encoder",
    "init_grouped_convs",
    "load_state_dict_file",
    "set_batchnorm_momentum",
]

#: public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "BN_MOMENTUM": "disentangle_fas.encoders.backbones",
    "TORCHVISION_BACKBONES": "disentangle_fas.encoders.backbones",
    "ProjectedEncoder": "disentangle_fas.encoders.backbones",
    "TimmEncoder": "disentangle_fas.encoders.backbones",
    "TorchvisionEncoder": "disentangle_fas.encoders.backbones",
    "init_grouped_convs": "disentangle_fas.encoders.backbones",
    "set_batchnorm_momentum": "disentangle_fas.encoders.backbones",
    "available_backbones": "disentangle_fas.encoders.factory",
    "create_encoder": "disentangle_fas.encoders.factory",
    "ENCODER_DEPTHS": "disentangle_fas.encoders.resnet",
    "ResNetEncoder": "disentangle_fas.encoders.resnet",
    "Stem": "disentangle_fas.encoders.resnet",
    "DisentangledEncoders": "disentangle_fas.encoders.shared",
    "EncoderMaps": "disentangle_fas.encoders.shared",
    "SharedStemEncoders": "disentangle_fas.encoders.shared",
    "RefusedPickleError": "disentangle_fas.weights",
    "load_state_dict_file": "disentangle_fas.weights",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
