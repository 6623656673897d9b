"""The ``twins`` pytest plugin (entry point ``pytest11``): certify every registered pair.

After ``harness.register_pair(...)`` (in a conftest.py, or a module named in the
``twins_pairs`` ini option), plain ``pytest`` adds one test per pair and dtype,
``certify[NAME-float32]``, that fuzzes the pair under the chosen hypothesis profile.

Options: ``--twins-profile {dev,ci,thorough}`` (also the hypothesis profile of the run),
``--twins {auto,on,off}`` (auto: certify when pytest is run without path arguments).
Ini: ``twins_builtin = true`` adds the built-in catalogue; ``twins_pairs`` lists modules.
"""
from __future__ import annotations

import os
from typing import Any, List

import pytest


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("twins", "theano-twins certification")
    group.addoption("--twins-profile", default=None, choices=["dev", "ci", "thorough"],
                    help="hypothesis profile for certification and tests (default: ci when $CI is set, else dev)")
    group.addoption("--twins", default="auto", choices=["auto", "on", "off"],
                    help="add certification items for registered pairs (auto: only without path arguments)")
    group.addoption("--twins-report-dir", default=None, help="write reproducers of failing pairs here")
    parser.addini("twins_builtin", "certify the built-in catalogue", type="bool", default=False)
    parser.addini("twins_pairs", "modules that register pairs", type="linelist", default=[])


def _profile(config: Any) -> str:
    return config.getoption("twins_profile") or ("ci" if os.environ.get("CI") else "dev")


def pytest_configure(config: Any) -> None:
    from hypothesis import settings

    from .profiles import register_profiles

    register_profiles()
    settings.load_profile(_profile(config))
    config.addinivalue_line("markers", "twins_certify: certification of a registered layer pair")


def _wanted(config: Any) -> bool:
    mode = config.getoption("twins")
    if mode != "auto":
        return mode == "on"
    source = getattr(config, "args_source", None)
    return source is None or source.name != "ARGS"


class CertifyItem(pytest.Item):
    def __init__(self, *, pair: Any, dtype: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pair, self.dtype = pair, dtype
        self.add_marker("twins_certify")
        self.stats = None

    def runtest(self) -> None:
        from .runner import certify_pair

        report_dir = self.config.getoption("twins_report_dir")
        self.stats = certify_pair(self.pair, self.dtype, _profile(self.config), report_dir=report_dir)
        self.user_properties.append(("examples", self.stats.examples))
        if self.stats.verdict != "certified":
            raise CertificationFailed(self.stats)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, CertificationFailed):
            s = excinfo.value.stats
            text = f"{s.pair}[{s.dtype}] {s.verdict} after {s.examples} examples\n{s.message}"
            if s.reproducer:
                text += f"\nreplay with: twins replay {s.reproducer}"
            return text
        return super().repr_failure(excinfo)

    def reportinfo(self) -> Any:
        return self.path, None, f"certify {self.pair.name}[{self.dtype}]"


class CertificationFailed(Exception):
    def __init__(self, stats: Any) -> None:
        super().__init__(stats.message)
        self.stats = stats


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: Any, config: Any, items: List[Any]) -> None:
    # tryfirst: our items exist before -k/-m deselection runs on the list.
    if not _wanted(config):
        return
    from . import registry

    registry.load_pairs(config.getini("twins_pairs"), builtin=config.getini("twins_builtin"))
    for pair in registry.all_pairs():
        for dtype in pair.dtypes:
            items.append(CertifyItem.from_parent(session, name=f"certify[{pair.name}-{dtype}]", pair=pair, dtype=dtype))
