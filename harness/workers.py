"""``twins certify``'s jobs (pair x dtype, zoo network x dtype), in this process or split across workers.

Why workers: on a cold compile cache nearly all of certification is C compilation of Theano
graphs, and PyTensor compiles one module at a time per compile directory (it holds a file lock
on the directory while the compiler runs). So each worker process gets a compile directory of
its own, under the same base directory (``<base_compiledir>/twins-worker-<i>``), unless the
user pinned one directory with ``compiledir=`` in PYTENSOR_FLAGS (then the workers share it).

The split is static (job ``k`` goes to worker ``k mod N``), so every run gives a worker the same
jobs in the same order: its compile directory is warm on the next run, and the reports (gathered
in the canonical job order) are the same whatever the number of workers, timings aside.

Progress is reported per example of a pair and per zoo network (:class:`Progress`, tqdm on stderr).
"""
from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__all__ = ["Job", "Setup", "ZooResult", "assign", "flag_value", "worker_flags", "run_jobs", "Progress", "cpu_seconds", "max_examples"]

# events a job sends while it runs: (kind, worker, payload)
Event = Tuple[str, int, Any]


@dataclass(frozen=True)
class Job:
    """One unit of certification: a registered pair (``kind="pair"``) or a zoo network (``"zoo"``) in one dtype."""

    kind: str
    name: str
    dtype: str

    @property
    def label(self) -> str:
        return f"{self.name}[{self.dtype}]"


@dataclass(frozen=True)
class Setup:
    """What a worker needs to find the pairs and run them as the parent would."""

    profile: str
    report_dir: str
    pairs_modules: Tuple[str, ...] = ()
    builtin: bool = True


@dataclass
class ZooResult:
    """A zoo network's certification (``report``, per-layer ``rows``) or why it could not run (``error``)."""

    label: str
    report: Any = None
    rows: Any = None
    error: str = ""


@dataclass
class _Done:
    index: int
    result: Any = field(repr=False)


def assign(n_jobs: int, workers: int) -> List[List[int]]:
    """Job indices per worker: job ``k`` to worker ``k mod workers`` (a static, reproducible split).

    With jobs listed pair by pair in both dtypes, two workers take one dtype each, so their
    compile directories hold few modules twice (a module is compiled for one dtype).
    """
    workers = max(1, min(workers, n_jobs)) if n_jobs else 1
    return [list(range(w, n_jobs, workers)) for w in range(workers)]


def _flag_name(item: str) -> str:
    # PyTensor reads "a.b" and "a__b" as one flag
    return item.split("=", 1)[0].strip().replace(".", "__")


def flag_value(flags: str, name: str) -> Optional[str]:
    """The value of flag ``name`` in a PYTENSOR_FLAGS string (the last one wins, as in PyTensor),
    None when it is not set."""
    values = [f.split("=", 1)[1] for f in flags.split(",") if "=" in f and _flag_name(f) == name]
    return values[-1] if values else None


def _set_flag(flags: str, name: str, value: str) -> str:
    kept = [f for f in flags.split(",") if f.strip() and _flag_name(f) != name]
    return ",".join(kept + [f"{name}={value}"])


def worker_flags(worker: int, flags: str, base_compiledir: str) -> str:
    """PYTENSOR_FLAGS of worker ``worker``: its own compile directory under ``base_compiledir``,
    unless ``flags`` pin one directory with ``compiledir=`` (kept, shared by the workers)."""
    if flag_value(flags, "compiledir") is not None:
        return flags
    return _set_flag(flags, "base_compiledir", os.path.join(base_compiledir, f"twins-worker-{worker}"))


# ---------------------------------------------------------------------------
# running jobs (the same code in the parent with one worker, and in each worker process)
# ---------------------------------------------------------------------------
def _load(setup: Setup) -> None:
    from . import registry

    registry.load_pairs(list(setup.pairs_modules), builtin=setup.builtin)


def max_examples(pair: Any, profile: str) -> int:
    """The number of examples certification of ``pair`` asks hypothesis for under ``profile``."""
    from . import profiles

    return max(1, int(round(profiles.get_settings(profile).max_examples * pair.max_examples_scale)))


def _run_pair(job: Job, setup: Setup, emit: Callable[[str, Any], None]) -> Any:
    from .registry import get_pair
    from .runner import certify_pair

    pair = get_pair(job.name)
    emit("start", (job.label, max_examples(pair, setup.profile), "example"))
    stats = certify_pair(pair, job.dtype, setup.profile, report_dir=setup.report_dir,
                         on_example=lambda: emit("step", None))
    stats.last_failure = None  # its reproducer is saved; the built layers need not cross processes
    return stats


def _run_zoo(job: Job, setup: Setup, emit: Callable[[str, Any], None]) -> ZooResult:
    from layers_theano import zoo

    from .network import NetworkError, certify_network
    from .oracle import attribute_network

    emit("start", (job.label, 2, "step"))
    try:
        net = getattr(zoo, job.name)(dtype=job.dtype)
        report = certify_network(net, n_batches=2, batch_size=4)
        emit("step", None)
        rows = attribute_network(net, n_batches=2, batch_size=4)
        emit("step", None)
    except (NetworkError, AttributeError, ImportError, TypeError, ValueError) as exc:
        return ZooResult(job.label, error=str(exc))
    return ZooResult(job.label, report, rows)


def _run_one(job: Job, setup: Setup, emit: Callable[[str, Any], None]) -> Any:
    return _run_pair(job, setup, emit) if job.kind == "pair" else _run_zoo(job, setup, emit)


def _worker_main(worker: int, jobs: Sequence[Tuple[int, Job]], setup: Setup, events: Any) -> None:
    """A worker process: load the pairs, run its jobs in order, send events and results."""
    def emit(kind: str, payload: Any) -> None:
        events.put((kind, worker, payload))

    try:
        _load(setup)
        for index, job in jobs:
            emit("done", _Done(index, _run_one(job, setup, emit)))
    except BaseException as exc:  # tell the parent rather than leave it waiting on a silent worker
        emit("crash", f"{type(exc).__name__}: {exc}")
        raise
    emit("exit", cpu_seconds())


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its finished children (the C compiler
    runs PyTensor starts): on a quiet machine, the wall time a worker needs."""
    import resource

    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


# ---------------------------------------------------------------------------
# progress
# ---------------------------------------------------------------------------
class Progress:
    """tqdm bars on stderr: the jobs overall, and per worker the examples of its current pair (or
    the steps of its current zoo network)."""

    def __init__(self, total: int, workers: int, file: Any = None) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.file = file if file is not None else sys.stderr
        self.overall = tqdm(total=total, desc="certify", unit="job", file=self.file, dynamic_ncols=True, position=0)
        self.bars: Dict[int, Any] = {}
        self.workers = workers
        self.cpu: Dict[int, float] = {}  # worker -> CPU seconds, as each worker process exits

    def __call__(self, kind: str, worker: int, payload: Any) -> None:
        if kind == "start":
            label, total, unit = payload
            bar = self.bars.pop(worker, None)
            if bar is not None:
                bar.close()
            prefix = f"[{worker}] " if self.workers > 1 else ""
            self.bars[worker] = self._tqdm(total=total, desc=f"{prefix}{label}", unit=unit, file=self.file,
                                           dynamic_ncols=True, position=1 + worker, leave=False)
        elif kind == "step" and worker in self.bars:
            self.bars[worker].update(1)
        elif kind == "done":
            self.overall.update(1)
        elif kind == "exit" and payload is not None:
            self.cpu[worker] = float(payload)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.overall.close()


# ---------------------------------------------------------------------------
# the parent
# ---------------------------------------------------------------------------
def run_jobs(jobs: Sequence[Job], setup: Setup, workers: int = 1,
             on_event: Optional[Callable[[str, int, Any], None]] = None) -> List[Any]:
    """Results of ``jobs`` in their order: PairStats for pairs, :class:`ZooResult` for networks.

    ``workers`` > 1 runs them in that many processes (see the module docstring); 1 runs them here.
    ``on_event(kind, worker, payload)`` sees "start" (label, total, unit), "step", "done" and, from
    a worker process, "exit" (its CPU seconds, :func:`cpu_seconds`) or "crash" (why).
    """
    on_event = on_event or (lambda kind, worker, payload: None)
    split = assign(len(jobs), workers)
    results: List[Any] = [None] * len(jobs)
    if len(split) <= 1:
        for index in split[0] if split else []:
            results[index] = _run_one(jobs[index], setup, lambda kind, payload: on_event(kind, 0, payload))
            on_event("done", 0, _Done(index, results[index]))
        return results
    return _run_processes(jobs, setup, split, results, on_event)


def _run_processes(jobs: Sequence[Job], setup: Setup, split: List[List[int]], results: List[Any],
                   on_event: Callable[[str, int, Any], None]) -> List[Any]:
    from layers_theano.backend import config

    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter reads its own PYTENSOR_FLAGS
    events = ctx.Queue()
    base, flags = str(config.base_compiledir), os.environ.get("PYTENSOR_FLAGS", "")
    procs = []
    saved = os.environ.get("PYTENSOR_FLAGS")
    try:
        for w, indices in enumerate(split):
            os.environ["PYTENSOR_FLAGS"] = worker_flags(w, flags, base)  # the child inherits it at start
            p = ctx.Process(target=_worker_main, args=(w, [(i, jobs[i]) for i in indices], setup, events),
                            name=f"twins-certify-{w}", daemon=True)
            p.start()
            procs.append(p)
    finally:
        if saved is None:
            os.environ.pop("PYTENSOR_FLAGS", None)
        else:
            os.environ["PYTENSOR_FLAGS"] = saved
    finished: Dict[int, str] = {}
    try:
        while len(finished) < len(procs):
            try:
                kind, w, payload = events.get(timeout=1.0)
            except queue_module.Empty:
                for w, p in enumerate(procs):
                    if w not in finished and not p.is_alive() and p.exitcode not in (0, None):
                        finished[w] = f"worker {w} exited with code {p.exitcode}"
                continue
            if kind == "done":
                results[payload.index] = payload.result
            elif kind == "exit":
                finished[w] = ""
            elif kind == "crash":
                finished[w] = payload
            on_event(kind, w, payload)
        for p in procs:
            p.join()
    except BaseException:
        for p in procs:  # only the processes started here
            if p.is_alive():
                p.terminate()
        raise
    for w, indices in enumerate(split):
        for i in indices:
            if results[i] is None:
                results[i] = _failed(jobs[i], finished.get(w) or f"worker {w} stopped")
    return results


def _failed(job: Job, why: str) -> Any:
    """The result of a job its worker never finished: an ERROR verdict that says why."""
    if job.kind == "zoo":
        return ZooResult(job.label, error=f"not run: {why}")
    from .runner import PairStats

    stats = PairStats(job.name, job.dtype)
    stats.verdict, stats.message = "ERROR", f"not run: {why}"
    return stats
