"""The public names users and outside test suites import (DESIGN section 9) must not vanish."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "disentangle_fas": ["__version__"],
    "disentangle_fas.contracts": [
        "Encoder", "StemmedEncoder", "LivenessModel", "LivenessPath", "InputSpec",
        "TrainingMethod", "Losses", "Variant", "DisentangledFeatures",
    ],
    "disentangle_fas.registry": ["register_model_kind", "model_kind", "model_kinds"],
    "disentangle_fas.encoders": [
        "ResNetEncoder", "SharedStemEncoders", "DisentangledEncoders", "ProjectedEncoder",
        "TorchvisionEncoder", "TimmEncoder", "create_encoder", "available_backbones",
    ],
    "disentangle_fas.heads": ["LMCLHead", "DomainClassifier", "ContentDecoder"],
    "disentangle_fas.losses": [
        "lmcl_loss", "LMCLLoss", "confusion_loss", "ConfusionLoss", "content_loss", "ContentLoss",
        "domain_loss", "DomainLoss", "DisentanglementObjective", "frozen_call", "supcon_loss",
        "SupConLoss",
    ],
    "disentangle_fas.model": ["DisentangledFAS", "ModelConfig"],
    "disentangle_fas.checkpoint": ["save_model", "load_model", "save_liveness_model", "load_weights"],
    "disentangle_fas.targets": ["ContentTarget", "PRNet", "load_prnet", "PRNetTarget", "TargetCache"],
    "disentangle_fas.metrics": ["auc", "eer", "hter", "tpr_at_fpr", "apcer", "bpcer", "acer", "Report"],
    "disentangle_fas.data": [
        "OuluNPU", "CasiaFASD", "ReplayAttack", "MsuMfsd", "CelebASpoof", "Record",
        "DomainBalancedBatchSampler", "CrossDomainProtocol", "leave_one_out",
    ],
    "disentangle_fas.synthetic": ["SyntheticFAS"],
    "disentangle_fas.inference": ["LivenessDetector"],
    "disentangle_fas.training": [
        "TrainConfig", "train", "run_protocol", "ObjectiveMethod", "register_method",
        "available_methods",
    ],
    "disentangle_fas.ssdg": ["SSDGR", "grad_reverse", "GradientReversal", "asymmetric_triplet_loss"],
    "disentangle_fas.ssan": ["SSANR", "SSANConfig", "SSANObjective", "adain", "assembly_contrast_loss"],
    "disentangle_fas.safas": ["SAFAS", "SAFASConfig", "SAFASObjective", "align_heads", "random_views"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_exist(module: str) -> None:
    mod = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(mod, name)]
    assert not missing, f"{module} lost {missing}"


def test_metric_contracts() -> None:
    from disentangle_fas.metrics import auc, eer, hter, tpr_at_fpr

    scores, labels = [0.9, 0.8, 0.4, 0.1], [1, 1, 0, 0]
    assert auc(scores, labels) == 1.0
    value, threshold = eer(scores, labels)
    assert value == 0.0 and 0.4 < threshold <= 0.8
    assert hter(scores, labels, 0.5) == 0.0
    assert tpr_at_fpr(scores, labels, 0.01) == 1.0
