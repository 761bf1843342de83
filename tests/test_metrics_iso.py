"""APCER / BPCER / ACER on hand-computed examples with two attack types."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from disentangle_fas.metrics import acer, apcer, apcer_per_attack, bpcer, far_frr, hter

# live: 0.9 0.7 0.3 | print (attack 1): 0.6 0.2 | replay (attack 2): 0.8 0.1 0.4 0.3
SCORES = [0.9, 0.7, 0.3, 0.6, 0.2, 0.8, 0.1, 0.4, 0.3]
LABELS = [1, 1, 1, 0, 0, 0, 0, 0, 0]
ATTACKS = [0, 0, 0, 1, 1, 2, 2, 2, 2]


def test_hand_example_threshold_half() -> None:
    # At 0.5: print 0.6 accepted (1/2); replay 0.8 accepted (1/4); live 0.3 rejected (1/3).
    assert apcer_per_attack(SCORES, LABELS, ATTACKS, 0.5) == {1: 0.5, 2: 0.25}
    assert apcer(SCORES, LABELS, ATTACKS, 0.5) == 0.5
    assert bpcer(SCORES, LABELS, 0.5) == pytest.approx(1 / 3)
    assert acer(SCORES, LABELS, ATTACKS, 0.5) == pytest.approx((0.5 + 1 / 3) / 2)
    # HTER pools the attacks (FAR = 2/6), ACER takes the worst one: they differ.
    assert hter(SCORES, LABELS, 0.5) == pytest.approx((2 / 6 + 1 / 3) / 2)
    assert acer(SCORES, LABELS, ATTACKS, 0.5) > hter(SCORES, LABELS, 0.5)


def test_hand_example_threshold_inclusive() -> None:
    # At 0.6 the print score 0.6 is still accepted (score >= threshold); 0.3 and 0.7 live.
    assert apcer_per_attack(SCORES, LABELS, ATTACKS, 0.6) == {1: 0.5, 2: 0.25}
    assert bpcer(SCORES, LABELS, 0.6) == pytest.approx(1 / 3)
    # At 0.65 nothing of the print attack passes, the replay 0.8 does.
    assert apcer_per_attack(SCORES, LABELS, ATTACKS, 0.65) == {1: 0.0, 2: 0.25}
    assert apcer(SCORES, LABELS, ATTACKS, 0.65) == 0.25
    assert acer(SCORES, LABELS, ATTACKS, 0.65) == pytest.approx((0.25 + 1 / 3) / 2)
    # At 0.25 the replay 0.3 and 0.4 pass too.
    assert apcer_per_attack(SCORES, LABELS, ATTACKS, 0.25) == {1: 0.5, 2: 0.75}
    assert bpcer(SCORES, LABELS, 0.25) == 0.0


def test_without_attack_ids_apcer_is_far() -> None:
    far, frr = far_frr(SCORES, LABELS, 0.5)
    assert apcer_per_attack(SCORES, LABELS, None, 0.5) == {1: far}
    assert apcer(SCORES, LABELS, None, 0.5) == far
    assert bpcer(SCORES, LABELS, 0.5) == frr
    assert acer(SCORES, LABELS, None, 0.5) == hter(SCORES, LABELS, 0.5)


def test_spoof_only_and_live_only_inputs() -> None:
    assert apcer([0.7, 0.2], [0, 0], [3, 3], 0.5) == 0.5
    assert bpcer([0.7, 0.2], [1, 1], 0.5) == 0.5
    with pytest.raises(ValueError, match="at least one spoof"):
        apcer([0.7, 0.2], [1, 1], None, 0.5)
    with pytest.raises(ValueError, match="at least one live"):
        bpcer([0.7, 0.2], [0, 0], 0.5)
    with pytest.raises(ValueError, match="only spoof"):
        acer([0.7, 0.2], [0, 0], [1, 1], 0.5)


def test_attack_id_errors() -> None:
    with pytest.raises(ValueError, match=r"live samples .* attack id 0"):
        apcer_per_attack([0.1, 0.2], [1, 0], [1, 1], 0.5)
    with pytest.raises(ValueError, match="positive attack id"):
        apcer_per_attack([0.1, 0.2], [1, 0], [0, 0], 0.5)
    with pytest.raises(ValueError, match="attacks has 3 entries"):
        apcer_per_attack([0.1, 0.2], [1, 0], [0, 1, 1], 0.5)
    with pytest.raises(ValueError, match="integer attack-type ids"):
        apcer_per_attack([0.1, 0.2], [1, 0], [0.0, 1.5], 0.5)


def test_torch_inputs() -> None:
    result = apcer_per_attack(
        torch.tensor(SCORES), torch.tensor(LABELS), torch.tensor(ATTACKS), 0.5
    )
    assert result == {1: 0.5, 2: 0.25}


@given(
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 3)), min_size=2, max_size=40).filter(
        lambda xs: any(a == 0 for _, a in xs) and any(a > 0 for _, a in xs)
    ),
    st.integers(0, 21),
)
def test_against_loops(pairs: list[tuple[int, int]], t: int) -> None:
    scores = np.array([s / 20 for s, _ in pairs])
    attacks = np.array([a for _, a in pairs])
    labels = (attacks == 0).astype(int)
    threshold = t / 20
    per_attack = apcer_per_attack(scores, labels, attacks, threshold)
    for a in set(attacks.tolist()) - {0}:
        members = [s for s, k in zip(scores, attacks, strict=True) if k == a]
        assert per_attack[a] == sum(s >= threshold for s in members) / len(members)
    assert set(per_attack) == set(attacks.tolist()) - {0}
    live = [s for s, k in zip(scores, attacks, strict=True) if k == 0]
    b = sum(s < threshold for s in live) / len(live)
    assert bpcer(scores, labels, threshold) == b
    assert acer(scores, labels, attacks, threshold) == (max(per_attack.values()) + b) / 2
    assert 0.0 <= acer(scores, labels, attacks, threshold) <= 1.0
