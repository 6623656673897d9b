"""Hypothesis profiles: ``dev`` (quick, random), ``ci`` (derandomized: the same examples on
every run and every machine, so a gate never flakes) and ``thorough`` (long fuzzing)."""
from __future__ import annotations

from hypothesis import HealthCheck, settings

PROFILES = ("dev", "ci", "thorough")
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
             HealthCheck.differing_executors]
_done = False


def register_profiles() -> None:
    global _done
    if _done:
        return
    settings.register_profile("dev", max_examples=12, deadline=None, suppress_health_check=_SUPPRESS)
    settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True, database=None,
                              suppress_health_check=_SUPPRESS, print_blob=True)
    settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=_SUPPRESS)
    _done = True


def check_profile(name: str) -> str:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return name
