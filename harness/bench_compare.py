"""The saved form of a ``twins bench`` run (``--json FILE``) and ``--compare FILE``.

Schema (``"schema": "theano-twins/bench"``, ``"schema_version": 1``), one JSON object:

``created``
    ISO 8601 date and time (UTC) of the run.
``command``
    The command line (``twins bench ...``).
``commit``
    ``{"project": {"path", "commit", "dirty"}, "theano_twins": {"version", "commit", "dirty"}}``:
    the git commit of the current directory's repository (the project being benchmarked, as
    pytest-benchmark records it) and of the theano-twins checkout; ``null`` when not in git.
``machine``
    CPU model, ``cores``, ``usable_cores``, ``python``, ``numpy``, ``pytensor``, ``blas`` (library
    and version), ``blas_threads`` (numpy's OpenBLAS threads during the run), ``platform``,
    ``load_average_start``/``load_average_end``.
``settings``
    ``batch_sizes``, ``quick``, ``max_time_s`` (timing budget per model and batch), ``seq_len``.
``results``
    One object per model and batch size. Always present: ``model`` (str: ``MODULE:FACTORY``,
    the model file's name, or a zoo name), ``batch`` (int), ``source`` (``factory``, ``file`` or
    ``zoo``), ``twin_ms`` (median ms per call of the numpy twin), ``theano_ms`` (median ms of the
    compiled Theano function, ``null`` when only the twin was timed), ``twin_over_theano``
    (``null`` likewise), ``error`` (``null`` or why the entry was not measured). Also
    ``twin_iqr_ms``, ``theano_iqr_ms``, ``reps``, ``max_rel_diff``; zoo entries carry every
    column of ``bench.csv`` besides, among them the graph runtime's (the network converted at
    graph level, ``layers_np.graph``, timed in the same rotation as Theano and the twin; ``null``
    for Recipes networks and with ``--no-graph``): ``graph_ms`` (median ms per call),
    ``graph_iqr_ms``, ``graph_over_theano`` (graph_ms / theano_ms), ``graph_over_twin``
    (graph_ms / twin_ms) and ``graph_max_rel_diff`` (its output against Theano's, relative to
    the largest magnitude). ``--compare`` does not compare them.

``--compare FILE`` reads such a file (bounded: at most :data:`MAX_BYTES`, :data:`MAX_ENTRIES`
entries, strict JSON without NaN/Infinity) and compares it with this run per (model, batch):
the twin's latency and the twin/Theano ratio, lower is better; ``change = new / old - 1``.
A change above ``--threshold`` percent is a regression (exit 1); ``--fail-on ratio`` or
``latency`` checks only that metric (the ratio, measured alternately with Theano, is the one a
busy machine disturbs least). Entries only in one of the two
runs are listed and do not fail; a saved file with no entry in common with this run does
(exit 2: the comparison would be empty).
"""
from __future__ import annotations

import datetime
import json
import math
import os
import subprocess
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ["SCHEMA", "SCHEMA_VERSION", "MAX_BYTES", "MAX_ENTRIES", "METRICS", "BenchFileError", "git_commit",
           "commits", "make_record", "write_record", "read_record", "compare_records", "comparison_table",
           "machine_differences", "printable", "ENTRY_KEYS"]

SCHEMA = "theano-twins/bench"
SCHEMA_VERSION = 1
MAX_BYTES = 8 * 2 ** 20  # a saved run is a few kB per model; anything this large is not one
MAX_ENTRIES = 10_000
MAX_NAME = 300
# (key, label): what --compare compares, lower is better for both
METRICS: Tuple[Tuple[str, str], ...] = (("twin_ms", "twin ms/call"), ("twin_over_theano", "twin/Theano"))
ENTRY_KEYS = ("model", "batch", "source", "twin_ms", "twin_iqr_ms", "theano_ms", "theano_iqr_ms",
              "twin_over_theano", "reps", "max_rel_diff", "error")


class BenchFileError(ValueError):
    """A saved bench file that cannot be compared (malformed, hostile, another schema); one line."""


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------
def git_commit(directory: str, toplevel: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """``{"commit", "dirty"}`` of the git repository holding ``directory``, or None (no git, not a
    repository, or, when ``toplevel`` is given, a repository whose root is not ``toplevel``: an
    installed package inside someone else's repository is not that repository's commit)."""
    def git(*args: str) -> Optional[str]:
        try:
            proc = subprocess.run(["git", "-C", directory, *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    root = git("rev-parse", "--show-toplevel")
    if root is None or (toplevel is not None and os.path.realpath(root) != os.path.realpath(toplevel)):
        return None
    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def commits() -> Dict[str, Any]:
    """The commit of the current directory's project and of the theano-twins checkout."""
    from importlib.metadata import PackageNotFoundError, version

    cwd = os.getcwd()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        own_version: Optional[str] = version("theano-twins")
    except PackageNotFoundError:
        own_version = None
    project = git_commit(cwd)
    own = git_commit(here, toplevel=here)
    return {"project": {"path": cwd, **(project or {"commit": None, "dirty": None})},
            "theano_twins": {"version": own_version, **(own or {"commit": None, "dirty": None})}}


def make_record(machine: Dict[str, Any], settings: Dict[str, Any], rows: Sequence[Dict[str, Any]],
                command: Sequence[str]) -> Dict[str, Any]:
    """The saved form of a run: schema, date, command, commits, machine facts, settings, results."""
    results = []
    for row in rows:
        entry = {k: row.get(k) for k in ENTRY_KEYS}
        entry.update({k: v for k, v in row.items() if k not in entry})
        results.append(entry)
    return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["twins", "bench", *command]), "commit": commits(), "machine": machine,
            "settings": settings, "results": results}


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # strict JSON has no NaN; a figure that is not a number is "not measured"
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_record(record: Dict[str, Any], path: str) -> None:
    """Write ``record`` as strict JSON, atomically (a failed write leaves no half-written file)."""
    from layers_np.atomic import atomic_write_text

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    atomic_write_text(path, json.dumps(_finite(record), indent=1, default=str, allow_nan=False) + "\n")


# ---------------------------------------------------------------------------
# reading (untrusted)
# ---------------------------------------------------------------------------
def _reject_constant(name: str) -> Any:
    raise BenchFileError(f"non-finite number {name} (strict JSON has none)")


def _number(entry: Dict[str, Any], key: str, where: str, positive: bool = True) -> Optional[float]:
    value = entry.get(key)
    if value is None:
        return None
    try:
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    except OverflowError:  # an integer beyond float range
        number = math.nan
    if not math.isfinite(number):
        raise BenchFileError(f"{where}: {key} must be a finite number or null")
    if positive and not number > 0:
        raise BenchFileError(f"{where}: {key} must be positive, got {number!r}")
    return number


def read_record(path: str) -> Dict[str, Any]:
    """Read and check a saved run; raises :class:`BenchFileError` with one line on any problem.

    Bounded: the file is read up to :data:`MAX_BYTES` (larger is refused unread), the JSON must be
    strict (no NaN/Infinity), nesting too deep for the parser is refused, at most
    :data:`MAX_ENTRIES` results, model names at most 300 printable characters.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise BenchFileError(f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise BenchFileError(f"larger than {MAX_BYTES // 2 ** 20} MB; not a saved twins bench run")
    try:
        text = data.decode("utf-8")
        record = json.loads(text, parse_constant=_reject_constant)
    except BenchFileError:
        raise
    except UnicodeDecodeError:
        raise BenchFileError("not UTF-8 text; not a saved twins bench run") from None
    except RecursionError:
        raise BenchFileError("JSON nested too deeply; not a saved twins bench run") from None
    except ValueError as exc:
        raise BenchFileError(f"not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise BenchFileError(f"not a saved twins bench run (expected \"schema\": \"{SCHEMA}\"; write one with "
                             "twins bench --json FILE)")
    version = record.get("schema_version")
    if version != SCHEMA_VERSION:
        raise BenchFileError(f"schema_version {str(version)[:20]!r} is not {SCHEMA_VERSION}, the one this twins reads")
    results = record.get("results")
    if not isinstance(results, list):
        raise BenchFileError("\"results\" must be a list")
    if len(results) > MAX_ENTRIES:
        raise BenchFileError(f"{len(results)} results; at most {MAX_ENTRIES} are read")
    seen = set()
    for i, entry in enumerate(results):
        where = f"results[{i}]"
        if not isinstance(entry, dict):
            raise BenchFileError(f"{where} must be an object")
        model, batch = entry.get("model"), entry.get("batch")
        if not isinstance(model, str) or not model or len(model) > MAX_NAME or not model.isprintable():
            raise BenchFileError(f"{where}: model must be a printable name of at most {MAX_NAME} characters")
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 10 ** 9:
            raise BenchFileError(f"{where}: batch must be a positive integer")
        if (model, batch) in seen:
            raise BenchFileError(f"{where}: {model} at batch {batch} appears twice")
        seen.add((model, batch))
        for key, _ in METRICS:
            _number(entry, key, where)
        _number(entry, "theano_ms", where)
    machine = record.get("machine")
    if machine is not None and not isinstance(machine, dict):
        raise BenchFileError("\"machine\" must be an object")
    return record


# ---------------------------------------------------------------------------
# comparing
# ---------------------------------------------------------------------------
def _key(entry: Dict[str, Any]) -> Tuple[str, int]:
    return entry["model"], int(entry["batch"])


def compare_records(old: Dict[str, Any], new_rows: Sequence[Dict[str, Any]], threshold_pct: float,
                    checked: Sequence[str] = ("twin_ms", "twin_over_theano")) -> Dict[str, Any]:
    """Compare a saved run with this run's rows.

    Returns ``{"rows": [...], "regressions": [...], "only_old": [...], "only_new": [...],
    "compared": n}`` (``n``: comparisons of a checked metric); each row is ``{model, batch, metric, old, new, change, verdict}`` with
    ``change = new / old - 1`` and verdict ``ok``, ``faster``, ``REGRESSED`` (change above
    ``threshold_pct`` percent) or ``not measured now``/``not in saved run``. Only the metrics in
    ``checked`` can regress (``--fail-on``); a change of another beyond the threshold reads
    ``slower (not checked)``.
    """
    old_by = {_key(e): e for e in old["results"]}
    new_by = {(r["model"], int(r["batch"])): r for r in new_rows}
    rows: List[Dict[str, Any]] = []
    regressions: List[str] = []
    compared = 0
    limit = threshold_pct / 100.0
    for key in [k for k in new_by if k in old_by]:
        o, n = old_by[key], new_by[key]
        for metric, label in METRICS:
            ov, nv = o.get(metric), n.get(metric)
            if ov is None and nv is None:
                continue
            row = {"model": key[0], "batch": key[1], "metric": label, "old": ov, "new": nv, "change": None}
            if ov is None:
                row["verdict"] = "not in saved run"
            elif nv is None:
                row["verdict"] = "not measured now" + (f" ({n['error']})" if n.get("error") else "")
            else:
                compared += metric in checked  # what --fail-on checks; the rest is shown only
                row["change"] = nv / ov - 1.0
                if row["change"] > limit and metric not in checked:
                    row["verdict"] = "slower (not checked)"
                elif row["change"] > limit:
                    row["verdict"] = "REGRESSED"
                    regressions.append(f"{key[0]} batch {key[1]}: {label} {ov:.4g} -> {nv:.4g} "
                                       f"(+{100 * row['change']:.1f}% > {threshold_pct:g}%)")
                elif row["change"] < -limit:
                    row["verdict"] = "faster"
                else:
                    row["verdict"] = "ok"
            rows.append(row)
    only_old = [f"{m} batch {b}" for (m, b) in old_by if (m, b) not in new_by]
    only_new = [f"{m} batch {b}" for (m, b) in new_by if (m, b) not in old_by]
    return {"rows": rows, "regressions": regressions, "only_old": only_old, "only_new": only_new,
            "compared": compared}


def comparison_table(result: Dict[str, Any], tablefmt: str = "simple") -> str:
    """The comparison as a table: model, batch, metric, old, new, change, verdict."""
    from tabulate import tabulate

    def fmt(v: Optional[float]) -> str:
        return "" if v is None else f"{v:.4g}"

    body = [[r["model"], r["batch"], r["metric"], fmt(r["old"]), fmt(r["new"]),
             "" if r["change"] is None else f"{100 * r['change']:+.1f}%", r["verdict"]] for r in result["rows"]]
    return tabulate(body, headers=["model", "batch", "metric", "old", "new", "change", "verdict"],
                    tablefmt=tablefmt, disable_numparse=True)


def printable(value: Any) -> str:
    """A saved value as one short printable line (a hostile file must not write terminal escapes)."""
    text = str(value)[:80]
    return "".join(c if c.isprintable() else "?" for c in text)


def machine_differences(old: Dict[str, Any], new: Dict[str, Any]) -> List[str]:
    """Machine facts that differ between the saved run and this one (a comparison across machines,
    or across numpy/BLAS versions, measures those too)."""
    old_m = old.get("machine") if isinstance(old.get("machine"), dict) else {}
    out = []
    for key in ("cpu", "cores", "usable_cores", "python", "numpy", "pytensor", "blas", "blas_threads"):
        a, b = old_m.get(key), new.get(key)
        if a is not None and b is not None and str(a) != str(b):
            out.append(f"{key}: {printable(a)} -> {printable(b)}")
    return out

