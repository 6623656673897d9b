"""The ``twins`` pytest plugin (entry point ``pytest11``): certify every registered pair.

After ``harness.register_pair(...)`` (in a conftest.py, or a module named in the
``twins_pairs`` ini option), plain ``pytest`` adds one test per pair and dtype,
``certify[NAME-float32]``, that fuzzes the pair under the chosen certification profile.

Options: ``--twins-profile {dev,ci,thorough}`` (the hypothesis profile of certification items
only, registered as ``twins-dev``/``twins-ci``/``twins-thorough``; default ci when $CI is set,
else dev), ``--twins {auto,on,off}`` (auto: certify when pytest is run without path arguments).
Ini: ``twins_builtin = true`` adds the built-in catalogue; ``twins_pairs`` lists modules.

The plugin touches nothing but its own items: it never loads a hypothesis profile globally, so
``--hypothesis-profile`` and the user's own ``@settings`` keep governing every other test.

Certification items live under one anchor file (the ini file, else the top-most conftest.py),
so their node ids re-run like any other: ``pytest "pyproject.toml::certify[DenseLayer-float32]"``.

Without the harness dependencies (a numpy-only install of the runtime) the plugin is inert:
this module imports only pytest and the standard library, and certification adds nothing.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any, Iterator, List, Optional

import pytest

_NEEDS = ("hypothesis", "pytensor")
_PRODUCED = "_twins_certify_produced"


def _missing() -> List[str]:
    """The harness dependencies that cannot be imported here (none in a full install)."""
    missing = []
    for name in _NEEDS:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a finder refusing it, or a half-initialised module
            found = False
        if not found:
            missing.append(name)
    return missing


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("twins", "theano-twins certification")
    group.addoption("--twins-profile", default=None, choices=["dev", "ci", "thorough"],
                    help="profile of the certification items only (hypothesis profile twins-NAME); "
                         "default: ci when $CI is set, else dev")
    group.addoption("--twins", default="auto", choices=["auto", "on", "off"],
                    help="add certification items for registered pairs (auto: only without path arguments)")
    group.addoption("--twins-report-dir", default=None, help="write reproducers of failing pairs here")
    parser.addini("twins_builtin", "certify the built-in catalogue", type="bool", default=False)
    parser.addini("twins_pairs", "modules that register pairs", type="linelist", default=[])


def _profile(config: Any) -> str:
    return config.getoption("twins_profile") or ("ci" if os.environ.get("CI") else "dev")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "twins_certify: certification of a registered layer pair")
    setattr(config, _PRODUCED, False)
    requested = config.getoption("hypothesis_profile", None)
    if not requested or _missing():
        return
    # tryfirst: hypothesis' own pytest_configure loads the requested profile after this hook, so
    # twins-ci etc. are selectable; an unknown name is a usage error, not an INTERNALERROR.
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    from .profiles import PREFIX, PROFILES, register_profiles

    register_profiles()
    try:
        settings.get_profile(requested)
    except InvalidArgument:
        ours = ", ".join(PREFIX + p for p in PROFILES)
        raise pytest.UsageError(
            f"--hypothesis-profile={requested}: no hypothesis profile of that name is registered; register it "
            f"in your conftest.py, or use one of theano-twins' ({ours}); --twins-profile={requested} sets "
            "the profile of the certification items") from None


def _wanted(config: Any) -> bool:
    mode = config.getoption("twins")
    if mode != "auto":
        return mode == "on"
    source = getattr(config, "args_source", None)
    return source is None or source.name != "ARGS"


def _anchor(config: Any) -> Path:
    """The file certification items hang under: the ini file, else the top-most conftest.py."""
    if config.inipath is not None:
        return Path(config.inipath)
    root = Path(config.rootpath)
    conftests = []
    for plugin in config.pluginmanager.get_plugins():
        path = getattr(plugin, "__file__", None)
        if path and os.path.basename(path) == "conftest.py":
            p = Path(path).resolve()
            if root in p.parents:
                conftests.append(p)
    if conftests:
        return min(conftests, key=lambda p: (len(p.parts), str(p)))
    return root / "conftest.py"


def _load_pairs(config: Any) -> List[Any]:
    from . import registry

    registry.load_pairs(config.getini("twins_pairs"), builtin=config.getini("twins_builtin"))
    return registry.all_pairs()


class CertifyFile(pytest.File):
    """The anchor file as a collector of one certification item per registered pair and dtype."""

    def collect(self) -> Iterator["CertifyItem"]:
        setattr(self.config, _PRODUCED, True)
        for pair in _load_pairs(self.config):
            for dtype in pair.dtypes:
                yield CertifyItem.from_parent(self, name=f"certify[{pair.name}-{dtype}]", pair=pair, dtype=dtype)


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
        for i, finding in enumerate(self.stats.findings, 1):  # JUnit <properties>: one per distinct failure
            self.user_properties.append((f"failure_{i}", f"{finding.kind}: {finding.message.splitlines()[0]}"))
            if finding.reproducer:
                self.user_properties.append((f"failure_{i}_replay", finding.replay_command))
        if self.stats.verdict != "certified":
            raise CertificationFailed(self.stats)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, CertificationFailed):
            s = excinfo.value.stats
            return f"{s.pair}[{s.dtype}] {s.verdict} after {s.examples} examples\n{s.failure_text()}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> Any:
        return self.path, None, f"certify {self.pair.name}[{self.dtype}]"


class CertificationFailed(Exception):
    def __init__(self, stats: Any) -> None:
        super().__init__(stats.message)
        self.stats = stats


def pytest_collect_file(file_path: Path, parent: Any) -> Optional[CertifyFile]:
    # Only when the anchor is named on the command line (a re-run by node id); a plain run adds
    # the items in pytest_collection_modifyitems, whether or not the walk visits the anchor.
    session = parent.session
    if not session.isinitpath(file_path) or getattr(session.config, _PRODUCED, False) or _missing():
        return None
    if Path(file_path).resolve() != _anchor(session.config).resolve():
        return None
    return CertifyFile.from_parent(parent, path=Path(file_path))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: Any, config: Any, items: List[Any]) -> None:
    # tryfirst: our items exist before -k/-m deselection runs on the list.
    if not _wanted(config) or getattr(config, _PRODUCED, False):
        return
    missing = _missing()
    if missing:
        if config.getoption("twins") == "on":
            raise pytest.UsageError(f"--twins=on needs {', '.join(missing)}: pip install 'theano-twins[harness,theano]'")
        return
    collector = CertifyFile.from_parent(session, path=_anchor(config))
    # genitems reports the collection (so "collected N items" and --collect-only count them)
    items.extend(session.genitems(collector))
