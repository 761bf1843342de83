"""The named-choice base of the evaluation policies."""

from __future__ import annotations

import pytest

from disentangle_fas.metrics.checkpoints import CheckpointPolicy
from disentangle_fas.metrics.choices import NamedChoice
from disentangle_fas.metrics.thresholds import ThresholdStrategy


class _Colour(NamedChoice):
    ORACLE_RED = "oracle_red", "uses the labels"
    BLUE = "blue", "does not"


def test_members_are_strings_with_an_oracle_flag_and_a_description() -> None:
    assert _Colour.BLUE == "blue" and isinstance(_Colour.BLUE, str)
    assert [c.is_oracle for c in _Colour] == [True, False]
    assert _Colour.ORACLE_RED.description == "uses the labels"
    assert _Colour.BLUE.value == "blue" and _Colour("blue") is _Colour.BLUE
    assert dict(_Colour.descriptions()) == {
        _Colour.ORACLE_RED: "uses the labels",
        _Colour.BLUE: "does not",
    }
    assert _Colour.kind() == "colour"


def test_coerce_accepts_members_and_values_and_lists_the_accepted_ones() -> None:
    assert _Colour.coerce("blue") is _Colour.BLUE
    assert _Colour.coerce(_Colour.ORACLE_RED) is _Colour.ORACLE_RED
    with pytest.raises(
        ValueError, match=r"^unknown colour 'green'; choose one of 'oracle_red', 'blue'$"
    ):
        _Colour.coerce("green")


@pytest.mark.parametrize("policy", list(CheckpointPolicy))
def test_checkpoint_policies_agree_with_enum_lookup(policy: CheckpointPolicy) -> None:
    assert CheckpointPolicy.coerce(policy.value) is CheckpointPolicy(policy.value) is policy
    assert policy.is_oracle == (policy is CheckpointPolicy.ORACLE_BEST_TARGET)
    assert policy.description and "\n" not in policy.description


@pytest.mark.parametrize("strategy", list(ThresholdStrategy))
def test_threshold_strategies_are_named_choices(strategy: ThresholdStrategy) -> None:
    assert isinstance(strategy, NamedChoice)
    assert ThresholdStrategy.coerce(strategy.value) is ThresholdStrategy(strategy.value) is strategy
    assert strategy.is_oracle == (strategy is ThresholdStrategy.ORACLE_TARGET_EER)
    assert strategy.description and "\n" not in strategy.description


def test_kind_comes_from_the_class_name() -> None:
    assert CheckpointPolicy.kind() == "checkpoint policy"
    assert ThresholdStrategy.kind() == "threshold strategy"
    with pytest.raises(ValueError, match=r"^unknown threshold strategy 'x'; choose one of"):
        ThresholdStrategy.coerce("x")
