"""The HTML report: one self-contained file with a row per pair, images embedded, reproducers linked."""
from __future__ import annotations

import os
import re

import numpy as np
import pytest

from harness import get_pair
from harness.html_report import have_matplotlib, write_html
from harness.oracle import LayerAttribution
from harness.runner import PairStats, certify_pair

from harness.registry import load_builtin_catalogue

load_builtin_catalogue()


def _fake_stats(tmp_path):
    repro = tmp_path / "reproducers" / "Broken-float32-abc.npz"
    repro.parent.mkdir(parents=True)
    repro.write_bytes(b"x")
    good = PairStats("GoodLayer", "float32", examples=25, worst_ulp=2.0, worst_ratio=0.01, verdict="certified",
                     family="fam-a", bound="dense_bound + table", blame="both within rounding",
                     theano_ulps_to_oracle=0.5, twin_ulps_to_oracle=1.0,
                     ulp_samples=[0.0, 1.0, 2.0, 0.5], ratio_samples=[0.01, 0.001],
                     blame_counts={"both within rounding": 20, "identical": 5})
    bad = PairStats("Broken<Layer>", "float32", examples=3, failures=1, worst_ulp=5e3, worst_ratio=40.0,
                    verdict="DISCREPANCY", message="Twin differs from Theano: values out of tolerance",
                    reproducer=str(repro), family="fam-b", bound="table only (no declared bound)", blame="twin",
                    theano_ulps_to_oracle=0.5, twin_ulps_to_oracle=5e3, blame_note="twin: ...",
                    ulp_samples=list(np.linspace(0, 5e3, 50)), ratio_samples=[40.0, 2.0, 0.5])
    return [good, bad], repro


def _external_refs(text):
    refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)["\']', text)
    return [r for r in refs if not r.startswith("data:image/png;base64,") and not r.startswith("#")]


@pytest.mark.parametrize("images", [True, False])
def test_html_is_self_contained_and_has_every_row(tmp_path, images):
    # `make` installs the plots extra, so the image variant always runs here; users without
    # matplotlib get the tables-only variant, which the images=False case checks.
    assert have_matplotlib() or not images, "install the plots extra: pip install -e .[plots]"
    stats, repro = _fake_stats(tmp_path)
    rows = [LayerAttribution(1, "h1", "DenseLayer", total_abs=1e-3, added_abs=1e-3),
            LayerAttribution(2, "out", "DenseLayer", total_abs=2e-3, added_abs=1e-7, propagated_abs=2e-3,
                             input_abs=1e-3, amplification=2.0)]
    path = write_html(stats, str(tmp_path / "report.html"), networks=[("tiny-net", None, rows)], images=images)
    text = open(path).read()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    for s in stats:
        assert "<td><a href='#pair-" in text and (s.pair.replace("<", "&lt;").replace(">", "&gt;")) in text
    assert "Broken<Layer>" not in text  # escaped
    assert ("data:image/png;base64," in text) == images
    # the only external reference is the relative link to the failing row's reproducer
    assert _external_refs(text) == ["reproducers/Broken-float32-abc.npz"] * 2
    assert os.path.exists(os.path.join(os.path.dirname(path), _external_refs(text)[0]))
    assert "tiny-net" in text and "amplification" in text
    assert "fam-a" in text and "fam-b" in text
    if not images:
        assert "tables only" in text


def test_html_from_a_real_certification(tmp_path):
    stats = [certify_pair(get_pair("DenseLayer"), "float32", "ci")]
    path = write_html(stats, str(tmp_path / "sub" / "report.html"))
    text = open(path).read()
    assert "DenseLayer" in text and "certified" in text and "dense_bound" in text
    assert _external_refs(text) == []
    if have_matplotlib():
        assert text.count("data:image/png;base64,") >= 1


def test_certify_cli_writes_report_html(tmp_path):
    from harness.cli import main

    code = main(["certify", "--layers", "DenseLayer", "--dtypes", "float32", "--profile", "ci",
                 "--report-dir", str(tmp_path)])
    assert code == 0
    text = (tmp_path / "report.html").read_text()
    assert "DenseLayer" in text and _external_refs(text) == []
    import pandas as pd
    frame = pd.read_csv(tmp_path / "discrepancy.csv")
    assert {"theano_ulps_to_oracle", "twin_ulps_to_oracle", "blame"} <= set(frame.columns)
    assert frame.loc[0, "blame"] in ("both within rounding", "identical")
