"""Shared test configuration: deterministic, CPU-only, small."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, settings

torch.set_num_threads(min(2, os.cpu_count() or 1))
# Rendered synthetic splits go to a folder of this test session (removed at exit), not the
# user's cache.
if "DISENTANGLE_FAS_CACHE" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="dfas-test-cache-")
    os.environ["DISENTANGLE_FAS_CACHE"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)

settings.register_profile(
    "default",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail instead of hanging: a read that blocks is interrupted after 20 s."""

    def fire(*_: Any) -> None:
        raise TimeoutError("the read blocked")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)
