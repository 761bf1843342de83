"""Recalibrating the threshold on the deployer's own bona fide captures.

A threshold chosen on the training sources' validation data (the honest protocol) rarely
transfers to a new camera, light and population: on the built-in benchmark's unseen
domain the EER threshold of a MobileNetV3-Small model fell from 0.53 (source validation)
to 0.00002 (docs/deploy.md). Without attack samples of the new setting, what a deployer
can fix is the share of genuine users rejected (BPCER, ISO/IEC 30107-3): collect P(live)
of bona fide captures made with the deployment's camera and light, and take the threshold
that rejects at most that share of them. What it does to attacks is then unknown and must
be measured separately.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["bona_fide_threshold"]


def bona_fide_threshold(
    live_scores: Sequence[float] | NDArray[np.floating], bpcer: float = 0.05
) -> float:
    """The highest threshold that rejects at most ``bpcer`` of the given bona fide scores.

    With the library's rule (live iff ``p_live >= threshold``), the threshold is the
    ``floor(bpcer * n)``-th smallest score (0-based): exactly the scores below it are
    rejected, at most ``bpcer * n`` of them; any higher threshold rejects more.

    Args:
        live_scores: P(live) of ``n`` bona fide captures (finite, in ``[0, 1]``).
        bpcer: the share of bona fide captures the deployment may reject, in ``[0, 1)``.

    Returns:
        The threshold, one of the scores.

    Raises:
        ValueError: no scores, a score that is not finite or outside ``[0, 1]``, or
            ``bpcer`` outside ``[0, 1)``.

    Example:
        >>> bona_fide_threshold([0.9, 0.2, 0.7, 0.8, 0.95], bpcer=0.2)
        0.7
    """
    if not (0.0 <= bpcer < 1.0):
        raise ValueError(f"bpcer must be in [0, 1), got {bpcer}")
    scores = np.asarray(live_scores, dtype=np.float64).ravel()
    if scores.size == 0:
        raise ValueError("no bona fide scores given")
    if not np.isfinite(scores).all() or scores.min() < 0.0 or scores.max() > 1.0:
        raise ValueError("bona fide scores must be finite P(live) values in [0, 1]")
    k = math.floor(bpcer * scores.size + 1e-9)
    return float(np.sort(scores)[k])
