"""Shared test settings: hypothesis profiles (``HYPOTHESIS_PROFILE=fast`` or ``deep``).

``fast`` (the default, used by ``make test``) tries a few dozen generated scenarios per
property; ``deep`` tries thousands, for ``HYPOTHESIS_PROFILE=deep pytest -m deep``.
Tests that set their own ``max_examples`` keep it under either profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fast",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    max_examples=2_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))
