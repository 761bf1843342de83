"""The synthetic benchmark is neither trivial nor impossible.

A logistic regression on simple image statistics (band energies of the spectrum, colour
moments, saturation, Laplacian energy), trained on three domains, must beat chance on the
fourth but stay far from perfect: liveness cues exist, and domain shift hurts.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from disentangle_fas.synthetic import SyntheticFAS

DOMAINS = ("O", "C", "I", "M")


def simple_features(images: np.ndarray) -> np.ndarray:
    """Hand-crafted features of ``(N, H, W, 3)`` uint8 images (centre crop)."""
    x = images.astype(np.float64) / 255.0
    _, h, w, _ = x.shape
    c = x[:, h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    g = c.mean(-1)
    power = np.abs(np.fft.fft2(g - g.mean((1, 2), keepdims=True))) ** 2
    fy = np.fft.fftfreq(g.shape[1])[:, None]
    fx = np.fft.fftfreq(g.shape[2])[None, :]
    r = np.sqrt(fx**2 + fy**2)
    edges = (0.0, 0.08, 0.16, 0.25, 0.35, 0.5, 0.8)
    bands = [
        np.log(power[:, (r >= a) & (r < b)].mean(1) + 1e-8) for a, b in itertools.pairwise(edges)
    ]
    mx, mn = c.max(-1), c.min(-1)
    sat = (mx - mn) / (mx + 1e-3)
    lap = 4 * g[:, 1:-1, 1:-1] - g[:, :-2, 1:-1] - g[:, 2:, 1:-1] - g[:, 1:-1, :-2] - g[:, 1:-1, 2:]
    stats = [
        c.mean((1, 2)),
        c.std((1, 2)),
        sat.mean((1, 2))[:, None],
        sat.std((1, 2))[:, None],
        np.log(np.abs(lap).mean((1, 2)) + 1e-6)[:, None],
    ]
    return np.concatenate([np.stack(bands, 1), *stats], axis=1)


def leave_one_out_aucs(per_domain: int, size: int, seed: int) -> dict[str, tuple[float, float]]:
    """Return ``{target: (source AUC, target AUC)}`` of the four leave-one-domain-out tasks."""
    ds = SyntheticFAS(DOMAINS, samples_per_domain=per_domain, image_size=size, seed=seed)
    images = np.stack([ds.render(i).image for i in range(len(ds))])
    feats = simple_features(images)
    out = {}
    for t, code in enumerate(DOMAINS):
        src, tgt = ds.domain_indices != t, ds.domain_indices == t
        scaler = StandardScaler().fit(feats[src])
        clf = LogisticRegression(max_iter=2000).fit(scaler.transform(feats[src]), ds.labels[src])
        p_src = clf.predict_proba(scaler.transform(feats[src]))[:, 1]
        p_tgt = clf.predict_proba(scaler.transform(feats[tgt]))[:, 1]
        out[code] = (
            float(roc_auc_score(ds.labels[src], p_src)),
            float(roc_auc_score(ds.labels[tgt], p_tgt)),
        )
    return out


@pytest.mark.slow
def test_simple_classifier_transfers_imperfectly() -> None:
    aucs = leave_one_out_aucs(per_domain=120, size=32, seed=0)
    targets = np.array([t for _, t in aucs.values()])
    sources = np.array([s for s, _ in aucs.values()])
    # Beats chance on every unseen domain ...
    assert targets.min() > 0.6, aucs
    # ... but is far from perfect, and worse than on its own source domains on average.
    assert targets.max() < 0.97, aucs
    assert targets.mean() < 0.92, aucs
    assert targets.mean() < sources.mean(), aucs
