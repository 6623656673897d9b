"""Hypothesis profiles of certification: ``dev`` (quick, random), ``ci`` (derandomized: the same
examples on every run and every machine, so a gate never flakes) and ``thorough`` (long fuzzing).

They are registered with hypothesis as ``twins-dev``, ``twins-ci`` and ``twins-thorough`` so they
never replace a user's (or hypothesis') own profiles of the same short name, and they are never
loaded globally: certification passes its settings to each pair explicitly. A user may still
select one for their own tests with ``pytest --hypothesis-profile=twins-ci``.
"""
from __future__ import annotations

from typing import Any

PROFILES = ("dev", "ci", "thorough")
PREFIX = "twins-"
_done = False


def hypothesis_name(name: str) -> str:
    """The name under which profile ``name`` (``ci`` or ``twins-ci``) is registered with hypothesis."""
    return name if name.startswith(PREFIX) else PREFIX + name


def register_profiles() -> None:
    """Register ``twins-dev``, ``twins-ci`` and ``twins-thorough`` with hypothesis (idempotent)."""
    global _done
    if _done:
        return
    from hypothesis import HealthCheck, settings

    suppress = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                HealthCheck.differing_executors]
    settings.register_profile(PREFIX + "dev", max_examples=12, deadline=None, suppress_health_check=suppress)
    settings.register_profile(PREFIX + "ci", max_examples=25, deadline=None, derandomize=True, database=None,
                              suppress_health_check=suppress, print_blob=True)
    settings.register_profile(PREFIX + "thorough", max_examples=300, deadline=None, suppress_health_check=suppress)
    _done = True


def get_settings(name: str) -> Any:
    """The hypothesis ``settings`` of certification profile ``name`` (``ci`` or ``twins-ci``)."""
    from hypothesis import settings

    register_profiles()
    return settings.get_profile(hypothesis_name(check_profile(name)))


def check_profile(name: str) -> str:
    """``name`` if it is a certification profile (with or without the ``twins-`` prefix), else ValueError."""
    short = name[len(PREFIX):] if name.startswith(PREFIX) else name
    if short not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return name
