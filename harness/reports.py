"""Discrepancy and timing reports (CSV, JSON, Markdown via pandas) and the summary table."""
from __future__ import annotations

import json
import os
from typing import Dict, List, Sequence

import numpy as np
import pandas as pd
from tabulate import tabulate

from layers_np.atomic import atomic_write_text

from .runner import PairStats


def discrepancy_frame(stats: Sequence[PairStats]) -> pd.DataFrame:
    rows = [{
        "pair": s.pair, "dtype": s.dtype, "examples": s.examples, "verdict": s.verdict,
        "worst_abs": s.worst_abs, "worst_rel": s.worst_rel, "worst_ulp": s.worst_ulp,
        "worst_diff_over_allowed": s.worst_ratio, "tolerance": s.tolerance,
        "worst_example": s.worst_case, "message": s.message.splitlines()[0] if s.message else "",
        "reproducer": s.reproducer,
        # hypothesis may find several distinct bugs in one pair: each is a row of failures.*
        "distinct_failures": len(getattr(s, "findings", []) or []),
        # numerical truth (harness.oracle), at the worst example: each side's max distance to the
        # higher-precision oracle in ULPs of the tested dtype, and which side is to blame
        "family": getattr(s, "family", ""), "bound": getattr(s, "bound", ""),
        "theano_ulps_to_oracle": getattr(s, "theano_ulps_to_oracle", float("nan")),
        "twin_ulps_to_oracle": getattr(s, "twin_ulps_to_oracle", float("nan")),
        "blame": getattr(s, "blame", ""),
    } for s in stats]
    return pd.DataFrame(rows)


def failures_frame(stats: Sequence[PairStats]) -> pd.DataFrame:
    """One row per distinct failure (a discrepancy or an error) of every pair and dtype."""
    rows = [{"pair": s.pair, "dtype": s.dtype, "failure": i, "of": len(s.findings), **f.as_dict()}
            for s in stats for i, f in enumerate(getattr(s, "findings", []) or [], 1)]
    columns = ["pair", "dtype", "failure", "of", "kind", "message", "case", "reproducer", "replay"]
    return pd.DataFrame(rows, columns=columns)


def timing_frame(stats: Sequence[PairStats]) -> pd.DataFrame:
    def med(xs: List[float]) -> float:
        return float(np.median(xs)) if xs else float("nan")
    rows = [{
        "pair": s.pair, "dtype": s.dtype, "compiles": s.compiles, "theano_compile_s": s.compile_seconds,
        "theano_call_s": med(s.theano_seconds), "numpy_call_s": med(s.twin_seconds),
        "twin_over_theano": med(s.twin_seconds) / med(s.theano_seconds) if s.theano_seconds else float("nan"),
        "examples_per_s": s.examples_per_second, "wall_s": s.wall_seconds,
    } for s in stats]
    return pd.DataFrame(rows)


def write_frame(frame: pd.DataFrame, directory: str, stem: str) -> Dict[str, str]:
    """Write ``stem``.csv/.json/.md under ``directory`` atomically; returns the paths."""
    paths = {ext: os.path.join(directory, f"{stem}.{ext}") for ext in ("csv", "json", "md")}
    atomic_write_text(paths["csv"], frame.to_csv(index=False))
    atomic_write_text(paths["json"], frame.to_json(orient="records", indent=2))
    # a multi-line message (a failure's details) would break a Markdown table row
    md = frame.apply(lambda col: col.str.replace("\n", "<br>", regex=False) if col.dtype == object else col)
    atomic_write_text(paths["md"], md.to_markdown(index=False, floatfmt=".3g") + "\n")
    return paths


def write_reports(stats: Sequence[PairStats], directory: str) -> Dict[str, str]:
    paths = {}
    for stem, frame in (("discrepancy", discrepancy_frame(stats)), ("failures", failures_frame(stats)),
                        ("timing", timing_frame(stats))):
        for ext, p in write_frame(frame, directory, stem).items():
            paths[f"{stem}.{ext}"] = p
    total_examples = sum(s.examples for s in stats)
    total_wall = sum(s.wall_seconds for s in stats)
    summary = {
        "pairs": len({s.pair for s in stats}), "runs": len(stats),
        "certified": sum(s.verdict == "certified" for s in stats),
        "discrepancies": sum(s.verdict == "DISCREPANCY" for s in stats),
        "errors": sum(s.verdict == "ERROR" for s in stats),
        "distinct_failures": sum(len(getattr(s, "findings", []) or []) for s in stats),
        "examples": total_examples, "seconds": total_wall,
        "examples_per_second": total_examples / total_wall if total_wall else 0.0,
        "compiles": sum(s.compiles for s in stats),
        "compile_seconds": sum(s.compile_seconds for s in stats),
    }
    summary["worst_ratio_by_family"] = worst_ratio_by_family(stats)
    atomic_write_text(os.path.join(directory, "summary.json"), json.dumps(summary, indent=2))
    paths["summary.json"] = os.path.join(directory, "summary.json")
    return paths


def worst_ratio_by_family(stats: Sequence[PairStats]) -> Dict[str, Dict[str, object]]:
    """Per layer family: the worst |diff|/allowed seen, on which pair and dtype, and its blame."""
    out: Dict[str, Dict[str, object]] = {}
    for s in stats:
        fam = getattr(s, "family", "") or "user"
        cur = out.get(fam)
        if cur is None or s.worst_ratio > cur["worst_ratio"]:
            out[fam] = {"worst_ratio": float(s.worst_ratio), "pair": s.pair, "dtype": s.dtype,
                        "blame": getattr(s, "blame", "")}
    return dict(sorted(out.items()))


def summary_table(stats: Sequence[PairStats]) -> str:
    rows = [[s.pair, s.dtype, s.verdict, s.examples, f"{s.worst_ulp:.3g}", f"{s.worst_ratio:.3g}",
             getattr(s, "blame", ""), s.compiles, f"{s.wall_seconds:.1f}"] for s in stats]
    return tabulate(rows, headers=["pair", "dtype", "verdict", "examples", "worst ulp", "worst diff/allowed",
                                   "blame", "compiles", "seconds"], tablefmt="github")
