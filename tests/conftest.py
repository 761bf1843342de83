"""Shared test configuration: deterministic, CPU-only, small."""

from __future__ import annotations

import os
import tempfile

import torch
from hypothesis import HealthCheck, settings

torch.set_num_threads(min(2, os.cpu_count() or 1))
# Rendered synthetic splits go to a folder of this test session, not the user's cache.
os.environ.setdefault("DISENTANGLE_FAS_CACHE", tempfile.mkdtemp(prefix="dfas-test-cache-"))

settings.register_profile(
    "default",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
