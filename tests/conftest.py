import os
import sys

pytest_plugins = ["pytester"]

# tests import their helper modules (broken_twins) by name
sys.path.insert(0, os.path.dirname(__file__))


def _own_compile_directory_per_xdist_worker() -> None:
    """Give each pytest-xdist worker its own PyTensor compile directory, as `twins certify --jobs`
    does for its workers: PyTensor holds one lock per compile directory while it compiles, so two
    workers sharing one compile one module at a time and a cold `make test` uses a single core.
    Runs before anything imports pytensor (it reads PYTENSOR_FLAGS once, at import)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or "pytensor" in sys.modules:
        return
    from harness.workers import flag_value, worker_flags

    flags = os.environ.get("PYTENSOR_FLAGS", "")
    base = flag_value(flags, "base_compiledir")
    if base is None:  # PyTensor's default
        base = os.path.join(os.path.expanduser("~"), ".pytensor")
    os.environ["PYTENSOR_FLAGS"] = worker_flags(int(worker.lstrip("gw") or 0), flags, base)


_own_compile_directory_per_xdist_worker()
