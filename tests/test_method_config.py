"""The methods' shared config mixin and field checks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from disentangle_fas.method_config import DictConfig, check_finite, check_method_basics
from disentangle_fas.safas import SAFAS, SAFASConfig, SAFASObjective
from disentangle_fas.ssan import SSANR, SSANConfig, SSANObjective
from disentangle_fas.ssdg import SSDGR, SSDGConfig, SSDGObjective


@dataclass(frozen=True)
class _Cfg(DictConfig):
    a: float = 1.0
    b: float = 0.0


@pytest.mark.parametrize("cls", [SAFASConfig, SSANConfig, SSDGConfig])
def test_method_configs_round_trip_through_dicts(cls: type[DictConfig]) -> None:
    cfg = cls(num_domains=3)  # type: ignore[call-arg]
    data = cfg.to_dict()
    assert data["num_domains"] == 3
    assert type(cls.from_dict(data)) is cls
    assert cls.from_dict(data) == cfg
    with pytest.raises(TypeError):
        cls.from_dict({**data, "no_such_field": 1})


def test_dict_config_returns_a_copy() -> None:
    cfg = _Cfg(a=2.5)
    data = cfg.to_dict()
    assert data == {"a": 2.5, "b": 0.0}
    data["a"] = 9.0
    assert cfg.a == 2.5


@given(st.floats(allow_nan=True, allow_infinity=True), st.booleans())
def test_check_finite_matches_its_definition(value: float, positive: bool) -> None:
    cfg = _Cfg(a=value)
    valid = math.isfinite(value) and (value > 0 if positive else value >= 0)
    if valid:
        check_finite(cfg, ("a",), positive=positive)
    else:
        bound = "> 0" if positive else ">= 0"
        with pytest.raises(ValueError, match=f"a must be finite and {bound}, got"):
            check_finite(cfg, ("a",), positive=positive)


def test_check_finite_names_the_first_bad_field() -> None:
    with pytest.raises(ValueError, match=r"^b must be finite and > 0, got 0\.0$"):
        check_finite(_Cfg(), ("a", "b"), positive=True)


def test_check_method_basics() -> None:
    check_method_basics(2, 18, (10, 18))
    with pytest.raises(ValueError, match="num_domains must be >= 2, got 1"):
        check_method_basics(1, 18, (10, 18))
    with pytest.raises(ValueError, match=r"depth must be one of \[10, 18\], got 50"):
        check_method_basics(2, 50, (18, 10))


@pytest.mark.parametrize(
    ("cls", "field"),
    [(SSDGConfig, "lambda_trip"), (SSANConfig, "grl_gamma"), (SAFASConfig, "supcon_weight")],
)
def test_method_configs_refuse_negative_weights(cls: type, field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be finite"):
        cls(num_domains=2, **{field: -1.0})


def test_settings_for_takes_the_keyword_only_parameters_the_config_holds() -> None:
    def target(a: float, *, b: float = 0.0, c: float = 0.0) -> None:  # c is not a field
        del a, b, c

    assert _Cfg(a=2.0, b=3.0).settings_for(target) == {"b": 3.0}


@pytest.mark.parametrize(
    ("config", "model_cls", "objective_cls", "expected"),
    [
        (
            SAFASConfig(num_domains=3, supcon_weight=0.3, temperature=0.2, align=False),
            SAFAS,
            SAFASObjective,
            {"supcon_weight": 0.3, "temperature": 0.2, "align": False},
        ),
        (
            SSANConfig(
                num_domains=3, lambda_contrast=0.5, lambda_adv=0.4, grl_gamma=5.0, released_grl=True
            ),
            SSANR,
            SSANObjective,
            {"lambda_contrast": 0.5, "lambda_adv": 0.4, "grl_gamma": 5.0, "released_grl": True},
        ),
        (
            SSDGConfig(num_domains=3, lambda_adv=0.3, lambda_trip=0.25, triplet_reduction="valid"),
            SSDGR,
            SSDGObjective,
            {"lambda_adv": 0.3, "lambda_trip": 0.25, "triplet_reduction": "valid"},
        ),
    ],
)
def test_objectives_from_model_take_every_loss_setting_of_the_config(
    config: DictConfig, model_cls: Any, objective_cls: Any, expected: dict[str, object]
) -> None:
    objective = objective_cls.from_model(model_cls.from_config(config, warn_random=False))
    for name, value in expected.items():
        assert getattr(objective, name) == value, name


@pytest.mark.parametrize(
    ("config_cls", "objective_cls"),
    [(SAFASConfig, SAFASObjective), (SSANConfig, SSANObjective), (SSDGConfig, SSDGObjective)],
)
def test_objective_defaults_are_the_config_defaults(config_cls: Any, objective_cls: Any) -> None:
    # An objective built by hand and one built from a default config train alike.
    import inspect

    config = config_cls(num_domains=3)
    settings = config.settings_for(objective_cls)
    assert settings  # the objective does take its loss settings from the config
    params = inspect.signature(objective_cls).parameters
    assert {name: params[name].default for name in settings} == settings
