"""The model-zoo benchmark as a script: the same as ``twins bench`` (see harness/bench.py).

Run from the project root::

    .venv/bin/python benchmarks/bench_models.py [--models mlp lenet5] [--batch-sizes 1,64] [--quick]
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness.bench import bench_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(bench_main(sys.argv[1:]))
