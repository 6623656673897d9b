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


# ---------------------------------------------------------------------------
# layout: a table of contents, collapsed sections, figures whose labels fit
# ---------------------------------------------------------------------------
def test_table_of_contents_links_every_section(tmp_path):
    from html.parser import HTMLParser

    stats, _ = _fake_stats(tmp_path)
    rows = [LayerAttribution(1, "h1", "DenseLayer", total_abs=1e-3, added_abs=1e-3)]
    text = write_html(stats, str(tmp_path / "report.html"), networks=[("tiny-net", None, rows)], images=False)
    text = open(text).read()

    class Parse(HTMLParser):
        def __init__(self):
            super().__init__()
            self.ids, self.toc, self.h2, self.details, self.stack = {}, [], [], {}, []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            self.stack.append(tag)
            if "id" in a:
                self.ids[a["id"]] = tag
            if tag == "details" and "id" in a:
                self.details[a["id"]] = "open" in a
            if tag == "a" and "nav" in self.stack:
                self.toc.append(a["href"])
            if tag == "h2":
                self.h2.append(a.get("id"))

        def handle_endtag(self, tag):
            while self.stack and self.stack.pop() != tag:
                pass

    p = Parse()
    p.feed(text)
    assert text.index("<nav id='toc'>") < text.index("<h2")  # at the top, before any section
    assert p.toc and all(h.startswith("#") and h[1:] in p.ids for h in p.toc), p.toc
    assert all(h and "#" + h in p.toc for h in p.h2), (p.h2, p.toc)  # every section is in the contents
    assert "#net-0" in p.toc and p.ids["net-0"] == "h3"
    # the failing pair is listed and open; the certified one is collapsed, one line long
    assert "#pair-1" in p.toc and "#pair-0" not in p.toc
    assert p.details == {"pair-0": False, "pair-1": True}
    assert "twinsOpen" in text  # a link to a collapsed section opens it


def _saved_figures(monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    saved, original = [], Figure.savefig

    def savefig(self, *args, **kwargs):
        saved.append((self, kwargs))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return saved


def _check_layout(fig, kwargs):
    """Tick labels, axis labels and legends do not overlap and lie inside the saved image."""
    import itertools

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    assert kwargs.get("bbox_inches") == "tight", kwargs  # nothing drawn is cut off when saved
    legends, xlabels = [], []
    for ax in fig.axes:
        ticks = [t.get_window_extent(r) for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
        for a, b in itertools.combinations(ticks, 2):
            assert not a.overlaps(b), f"{fig.get_size_inches()}: tick labels overlap"
        if ax.get_legend() is not None:
            leg = ax.get_legend().get_window_extent(r)
            assert not any(leg.overlaps(t) for t in ticks), "the legend covers tick labels"
            legends.append(leg)
        if ax.xaxis.label.get_text():
            xlabels.append(ax.xaxis.label.get_window_extent(r))
    for boxes in (legends, xlabels):
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b), "legends or axis labels overlap"
    inside = fig.bbox.padded(1)
    for box in legends + xlabels:
        assert inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1), (box, fig.bbox)


@pytest.mark.skipif(not have_matplotlib(), reason="the plots extra is not installed")
def test_figures_keep_their_labels_apart_and_inside(monkeypatch, tmp_path):
    from harness import bench
    from harness.html_report import network_figure, pair_figure

    saved = _saved_figures(monkeypatch)
    stats, _ = _fake_stats(tmp_path)
    stats[1].ulp_samples = [0.0] + list(np.logspace(0, 9, 4000))  # a long label with zeros counted
    stats[1].ratio_samples = list(np.logspace(-6, 3, 400))
    pair_figure(stats[1])
    long_net = [LayerAttribution(i, f"block{i // 3}_conv{i % 3}_batchnorm_nonlinearity", "Conv2DLayer",
                                 total_abs=1e-3 * i, added_abs=1e-5 * i, propagated_abs=1e-3) for i in range(1, 41)]
    network_figure("resnet_small[float32]", long_net)
    network_figure("mlp[float32]", long_net[:2])
    models = ["mlp", "lenet5", "vgg_small", "resnet_small", "inception_block", "text_cnn", "char_lstm",
              "gru_classifier"]
    rows = [dict(model=m, batch=b, theano_cold_s=5.0, theano_warm_s=1.0, numpy_start_s=0.1, theano_ms=1.0,
                 twin_ms=0.8) for m in models for b in (1, 64)]
    assert bench.write_chart(rows, str(tmp_path / "bench.png")) is None
    assert bench.write_chart(rows[:2], str(tmp_path / "bench1.png")) is None  # one model: legends still fit
    assert len(saved) == 5
    for fig, kwargs in saved:
        _check_layout(fig, kwargs)
