"""``twins``: certify registered layer pairs, replay reproducers, export and gate models.

Exit codes: 0 all certified (or a replay that now agrees), 1 a discrepancy, 2 anything else
(usage, a bad file, an environment error, an unexpected exception); every failure prints one
line saying what is wrong and what to do (set TWINS_TRACEBACK=1 to see the traceback of an
unexpected exception).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import List, Optional


def _fail(message: str) -> int:
    print(f"twins: error: {message}", file=sys.stderr)
    return 2


def certify_main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="twins certify", description="Fuzz registered layer pairs against Theano.")
    parser.add_argument("--layers", nargs="+", metavar="NAME", help="pairs to certify (default: all)")
    parser.add_argument("--dtypes", nargs="+", default=None, choices=["float32", "float64"])
    parser.add_argument("--profile", default="dev", help="hypothesis profile: dev, ci or thorough")
    parser.add_argument("--report-dir", default="reports", help="where reports and reproducers go")
    parser.add_argument("--pairs-module", action="append", default=[], metavar="MODULE",
                        help="import MODULE first (it registers your own pairs); repeatable")
    parser.add_argument("--no-builtin", action="store_true", help="skip the built-in catalogue")
    parser.add_argument("--zoo", nargs="*", metavar="MODEL", default=None,
                        help="also certify zoo networks (all available ones without names) for the HTML report")
    parser.add_argument("--no-html", action="store_true", help="do not write report.html")
    parser.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                        help="worker processes (each with its own PyTensor compile directory); default 1")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        return _fail(f"--jobs must be at least 1, got {args.jobs}")

    from .profiles import check_profile
    try:
        check_profile(args.profile)
    except ValueError as exc:
        return _fail(str(exc))
    if args.zoo:  # a typo must not pass as "certified" with the model silently skipped
        from layers_theano import zoo

        unknown = [n for n in args.zoo if n not in zoo.FACTORIES]
        if unknown:
            return _fail(f"unknown zoo model {', '.join(map(repr, unknown))}; choose from {', '.join(zoo.FACTORIES)}")
    if os.path.exists(args.report_dir) and not os.path.isdir(args.report_dir):
        return _fail(f"--report-dir {args.report_dir} exists and is not a directory; choose another")
    try:
        from . import registry
        registry.load_pairs(args.pairs_module, builtin=not args.no_builtin)
    except ImportError as exc:
        if _missing_module(exc):
            raise  # main() names the missing dependency and how to install it
        culprit = getattr(exc, "name", None) or ""
        for module in args.pairs_module:
            if culprit and (module == culprit or module.startswith(culprit + ".")):
                return _fail(f"--pairs-module {module}: no module named {module!r} in the current directory "
                             f"({os.getcwd()}) or on sys.path; run twins from the directory that holds it")
        return _fail(f"cannot import pairs: {type(exc).__name__}: {exc}")
    try:
        pairs = [registry.get_pair(n) for n in args.layers] if args.layers else registry.all_pairs()
    except KeyError as exc:
        return _fail(str(exc.args[0]))
    if not pairs:
        return _fail("no layer pairs registered")

    from .reports import summary_table, write_reports
    from .workers import Job, Progress, Setup, cpu_seconds, run_jobs

    jobs = [Job("pair", p.name, d) for p in pairs for d in (args.dtypes or p.dtypes)]
    n_pairs = len(jobs)
    if args.zoo is not None:
        from layers_theano import zoo

        jobs += [Job("zoo", name, d) for name in (args.zoo or zoo.available()) for d in (args.dtypes or ["float32"])]
    setup = Setup(args.profile, args.report_dir, tuple(args.pairs_module), not args.no_builtin)
    start = time.perf_counter()
    progress = Progress(len(jobs), min(args.jobs, len(jobs)))
    try:
        results = run_jobs(jobs, setup, args.jobs, on_event=progress)
    finally:
        progress.close()
    elapsed = time.perf_counter() - start
    stats = results[:n_pairs]
    print(summary_table(stats))
    paths = write_reports(stats, args.report_dir)
    networks = []
    for zr in results[n_pairs:]:
        if zr.error:
            print(f"{zr.label}: not certified: {zr.error}", file=sys.stderr)
        else:
            print(f"{zr.label}: {zr.report.message()}")
            networks.append((zr.label, zr.report, zr.rows))
    if not args.no_html:
        from .html_report import write_html
        paths["report.html"] = write_html(stats, os.path.join(args.report_dir, "report.html"), networks=networks)
    examples = sum(s.examples for s in stats)
    bad = [s for s in stats if s.verdict != "certified"]
    print(f"\n{len(stats) - len(bad)}/{len(stats)} pair-dtypes certified, {examples} examples in {elapsed:.1f} s "
          f"({examples / elapsed:.1f} examples/s); reports in {os.path.dirname(paths['summary.json'])}/")
    # CPU time, compiler included: what the run needs on a quiet machine whatever the load now
    cpu = progress.cpu or {0: cpu_seconds()}
    print(f"CPU time: {sum(cpu.values()):.0f} s" + (f" ({', '.join(f'worker {w}: {c:.0f} s' for w, c in sorted(cpu.items()))})"
                                                   if len(cpu) > 1 else ""))
    for s in bad:
        print(f"\n{s.pair}[{s.dtype}] {s.verdict}: {s.failure_text()}")
    if any(s.verdict == "ERROR" for s in bad) and not any(s.verdict == "DISCREPANCY" for s in bad):
        return 2
    return 1 if bad else 0


def replay_main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="twins replay", description="Re-run a saved failing case.")
    parser.add_argument("reproducer")
    parser.add_argument("--pairs-module", action="append", default=[], metavar="MODULE",
                        help="a module whose pairs the reproducer may name (the printed replay command "
                             "gives it); replay never imports a module only because the file names it")
    args = parser.parse_args(argv)
    if not os.path.exists(args.reproducer):
        return _fail(f"no such file: {args.reproducer}")
    from layers_np.safe_npz import ModelFileError

    from .runner import PairsModuleNotAllowed, replay
    try:
        result = replay(args.reproducer, args.pairs_module)
    except PairsModuleNotAllowed as exc:
        return _fail(f"cannot replay {args.reproducer}: {exc}")
    except ModelFileError as exc:
        return _fail(f"cannot replay {exc}; replay only files written by `twins certify`")
    except KeyError as exc:
        return _fail(f"cannot replay {args.reproducer}: {exc.args[0] if exc.args else exc}")
    except ImportError as exc:
        if _missing_module(exc):
            raise  # main() names the missing dependency and how to install it
        return _fail(f"cannot replay ({exc}); is the Theano side installed? run `make venv`")
    except (Exception, SystemExit) as exc:  # a crafted case that the pair cannot even build
        return _fail(f"cannot replay {args.reproducer}: {type(exc).__name__}: {exc}")
    print(result.case.describe())
    if result.ok:
        print(f"now agrees: max ulp {result.comparison.max_ulp:.3g}, worst diff/allowed {result.comparison.max_bound_ratio:.3g}")
        return 0
    print(result.comparison.message())
    return 1


def export_main(argv: List[str]) -> int:
    from .gate import export_main as run

    return run(argv)


def gate_main(argv: List[str]) -> int:
    if "--graph" in argv:
        from .graph_gate import graph_gate_main

        return graph_gate_main(argv)
    from .gate import gate_main as run

    return run(argv)


def convert_main(argv: List[str]) -> int:
    from .graph_gate import convert_main as run

    return run(argv)


def import_pickle_main(argv: List[str]) -> int:
    from .gate import import_pickle_main as run

    return run(argv)


def bench_main(argv: List[str]) -> int:
    from .bench import bench_main as run

    return run(argv)


# each command imports its module when it runs, so `twins --help` needs neither Theano nor hypothesis
COMMANDS = {"certify": certify_main, "replay": replay_main, "export": export_main, "gate": gate_main,
            "import-pickle": import_pickle_main, "bench": bench_main, "convert": convert_main}
DESCRIPTIONS = {
    "certify": "fuzz registered layer pairs (built-in and your own) against Theano; write reports",
    "replay": "re-run a failing case saved by certify (a reproducer .npz)",
    "export": "write the numpy twin of a Theano network (MODULE:FACTORY) to a model file, without certifying",
    "gate": "export a network only if its numpy twin matches Theano on fuzzed inputs (a CI gate)",
    "import-pickle": "read a pretrained-model pickle without running code and gate the factory's network with "
                     "its values (as gate)",
    "bench": "time numpy twins against Theano (your MODULE:FACTORY or model.npz, or the zoo); save and compare runs",
    "convert": "convert a Theano/PyTensor graph (MODULE:FACTORY) to a numpy graph model file, without certifying",
}
# what the commands need beyond numpy: a numpy-only install (the deployment runtime) lacks them
HARNESS_MODULES = ("hypothesis", "pytensor", "theano", "lasagne", "pandas", "tabulate", "tqdm", "scipy", "matplotlib")
INSTALL_HINT = "pip install 'theano-twins[theano,harness]'"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("theano-twins")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"usage: twins [--version] {{{','.join(COMMANDS)}}} ...", "", "commands:"]
    lines += [f"  {name:<{width}}  {DESCRIPTIONS.get(name, '')}" for name in COMMANDS]
    lines += ["", "`twins COMMAND --help` describes a command's options.", "", (__doc__ or "").strip()]
    return "\n".join(lines)


def _missing_module(exc: BaseException) -> Optional[str]:
    """The harness dependency whose absence raised ``exc``, if that is what happened."""
    name = getattr(exc, "name", None) or ""
    top = name.split(".")[0]
    return top if isinstance(exc, ImportError) and top in HARNESS_MODULES else None


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        print(f"twins (theano-twins) {_version()}")
        return 0
    command = COMMANDS.get(argv[0])
    if command is None:
        return _fail(f"unknown command {argv[0]!r}; choose one of {', '.join(COMMANDS)}")
    try:
        return command(argv[1:])
    except SystemExit as exc:  # argparse usage errors
        return 2 if exc.code not in (0, None) else 0
    except KeyboardInterrupt:
        raise
    except OSError as exc:  # e.g. a report directory that is a file, a full disk
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}; check the paths given to twins {argv[0]}")
    except Exception as exc:
        missing = _missing_module(exc)
        if missing is not None:
            return _fail(f"twins {argv[0]} needs {missing}, which is not installed (a numpy-only install runs "
                         f"exported models only): {INSTALL_HINT}")
        if os.environ.get("TWINS_TRACEBACK"):
            raise
        return _fail(f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
                     f"(set TWINS_TRACEBACK=1 for the traceback and report it)")


if __name__ == "__main__":
    sys.exit(main())
