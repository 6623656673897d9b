"""One self-contained HTML report: verdicts, blame, ULP histograms, error-to-bound ratios.

Images are PNGs drawn with matplotlib (Agg) and embedded as base64 ``data:`` URIs, so the
file has no external references except the relative links to reproducers. Without
matplotlib the report degrades to tables.

>>> write_html(stats, "reports/report.html", networks=[("mlp", report, attribution)])
"""
from __future__ import annotations

import base64
import html
import io
import math
import os
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["write_html", "render_html", "have_matplotlib"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:middle}
th{background:#f0f0f0} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.bad td{background:#fde8e8} tr.err td{background:#fff4d6}
.v-certified{color:#17702a;font-weight:600} .v-DISCREPANCY{color:#b00020;font-weight:600}
.v-ERROR{color:#a05a00;font-weight:600} .b-twin,.b-theano,.b-different,.b-both{font-weight:600;color:#b00020}
.small{font-size:12px;color:#555} h2{margin-top:1.6em} img{display:block;max-width:100%}
nav#toc{border:1px solid #ddd;background:#fafafa;padding:0.4em 1em;display:inline-block;font-size:13px}
nav#toc ul{margin:0.2em 0;padding-left:1.2em} details{margin:0.3em 0} summary{cursor:pointer}
details.pair>summary{font-size:14px} details.pair>div{margin-left:1.2em}
"""

# a link to a collapsed section opens it (and the hash of a fresh load too)
OPEN_TARGET = ("<script>function twinsOpen(){var t=document.getElementById(location.hash.slice(1));"
               "if(t&&t.tagName==='DETAILS'){t.open=true;}}"
               "window.addEventListener('hashchange',twinsOpen);twinsOpen();</script>")


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


def _png(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _img(uri: Optional[str], alt: str) -> str:
    return f'<img src="{uri}" alt="{html.escape(alt)}">' if uri else ""


def _log_hist(ax: Any, values: Sequence[float], label: str, what: str, color: str) -> None:
    v = np.asarray([x for x in values if math.isfinite(x)], dtype=np.float64)
    zeros = int((v <= 0).sum())
    pos = v[v > 0]
    if pos.size:
        lo, hi = np.floor(np.log10(pos.min())), np.ceil(np.log10(pos.max()))
        bins = np.logspace(lo, max(hi, lo + 1), int(max(hi - lo, 1) * 4) + 1)
        ax.hist(pos, bins=bins, color=color)
        ax.set_xscale("log")
    # short axis label; the counts go in the title, so neighbouring labels never run into each other
    ax.set_xlabel(label, fontsize=8)
    ax.set_title(f"{len(v)} {what}" + (f", {zeros} exactly 0" if zeros else ""), fontsize=8)
    ax.tick_params(labelsize=7)


def _figure(width: float, height: float) -> Any:
    """A Figure with the constrained layout: labels, titles and legends stay inside it."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def pair_histograms(stats: Any) -> Optional[Any]:
    """The Figure of :func:`pair_figure` (None without samples)."""
    ulps = getattr(stats, "ulp_samples", []) or []
    ratios = getattr(stats, "ratio_samples", []) or []
    if not ulps and not ratios:
        return None
    fig = _figure(7.0, 2.1)
    a, b = fig.subplots(1, 2)
    _log_hist(a, ulps, f"ULP |theano - twin| ({stats.dtype})", "elements", "#4a78b5")
    _log_hist(b, ratios, "per-case worst |diff| / allowed", "cases", "#c0702a")
    b.axvline(1.0, color="#b00020", lw=1)
    return fig


def pair_figure(stats: Any) -> Optional[str]:
    """ULP histogram of |theano - twin| and histogram of per-case |diff|/allowed, as a data URI."""
    fig = pair_histograms(stats)
    return _png(fig) if fig is not None else None


LABEL_CHARS = 22  # a layer's tick label is cut to this many characters (the table has the full name)


def _short_label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "\u2026"


def network_bars(name: str, rows: Sequence[Any]) -> Optional[Any]:
    """The Figure of :func:`network_figure` (None without rows).

    Labels stand vertically, one bar group per 0.32 inch (above the 7 pt label height), so
    they never overlap however many layers; the legend sits above the axes.
    """
    if not rows:
        return None
    fig = _figure(max(5.0, 0.32 * len(rows) + 2.0), 3.6)
    ax = fig.subplots()
    x = np.arange(len(rows))
    positive = []
    for k, (field, color, label) in enumerate((("total_abs", "#555555", "total |twin - theano|"),
                                               ("added_abs", "#c0392b", "added (layer alone on Theano's input)"),
                                               ("propagated_abs", "#2f6fb0", "propagated (total - added)"))):
        # exact zeros draw no bar on the log axis; a raising layer (inf) is drawn at 1
        vals = [float(getattr(r, field)) for r in rows]
        vals = [1.0 if math.isinf(v) else (v if v > 0 else float("nan")) for v in vals]
        positive += [v for v in vals if v == v]
        ax.bar(x + (k - 1) * 0.27, vals, width=0.27, color=color, label=label)
    ax.set_yscale("log")
    if positive:
        ax.set_ylim(min(positive) / 10, max(positive) * 10)
    ax.set_xticks(x)
    ax.set_xticklabels([_short_label(f"{r.index}:{r.name}") for r in rows], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_ylabel("max abs error", fontsize=8)
    ax.legend(title=name, title_fontsize=8, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=3 if len(rows) >= 12 else 1)
    return fig


def network_figure(name: str, rows: Sequence[Any]) -> Optional[str]:
    """Per-layer bars: total error, the error the layer adds, and the error it propagates."""
    fig = network_bars(name, rows)
    return _png(fig) if fig is not None else None


def _num(x: Any) -> str:
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return html.escape(str(x))
    if math.isnan(xf):
        return ""
    return f"{xf:.3g}"


def _link(reproducer: str, base: str) -> str:
    if not reproducer:
        return ""
    rel = os.path.relpath(os.path.abspath(reproducer), base).replace(os.sep, "/")
    return f'<a href="{html.escape(rel)}">{html.escape(os.path.basename(reproducer))}</a>'


def _links(stats: Any, base: str) -> str:
    """Links to the reproducer of every distinct failure of a pair (or its one reproducer)."""
    paths = [f.reproducer for f in getattr(stats, "findings", []) or [] if f.reproducer]
    return "<br>".join(_link(p, base) for p in (paths if len(paths) > 1 else [stats.reproducer]))


def _bcls(blame: str) -> str:
    """CSS class of a blame verdict: only a side to blame (or different functions) is highlighted."""
    return "b-" + blame.split()[0] if blame in ("twin", "theano", "different functions", "both") else "b-ok"


def _family_rows(stats: Sequence[Any]) -> List[Tuple[str, Any]]:
    best: Dict[str, Any] = {}
    for s in stats:
        fam = getattr(s, "family", "") or "user"
        if fam not in best or s.worst_ratio > best[fam].worst_ratio:
            best[fam] = s
    return sorted(best.items())


def _toc(stats: Sequence[Any], networks: Sequence[Tuple[str, Any, Any]]) -> str:
    """The table of contents: every section, each failing pair and each network by anchor."""
    e = html.escape
    bad = [(i, s) for i, s in enumerate(stats) if s.verdict != "certified"]
    items = ["<li><a href='#families'>Worst error-to-bound ratio per family</a></li>",
             f"<li><a href='#pairs'>Pairs</a> ({len(stats)} pair-dtypes, {len(bad)} failing)</li>",
             "<li><a href='#per-pair'>Per pair</a>"]
    if bad:
        items.append("<ul>" + "".join(f"<li><a href='#pair-{i}'>{e(s.pair)} [{e(s.dtype)}]</a> "
                                      f"<span class='v-{e(s.verdict)}'>{e(s.verdict)}</span></li>" for i, s in bad)
                     + "</ul>")
    items.append("</li>")
    if networks:
        items.append("<li><a href='#networks'>Networks</a><ul>" + "".join(
            f"<li><a href='#net-{k}'>{e(name)}</a></li>" for k, (name, _, _) in enumerate(networks)) + "</ul></li>")
    return "<nav id='toc'><b>Contents</b><ul>" + "".join(items) + "</ul></nav>"


def render_html(stats: Sequence[Any], base_dir: str = ".", networks: Sequence[Tuple[str, Any, Any]] = (),
                title: str = "theano-twins certification", images: Optional[bool] = None) -> str:
    """The report as a string. ``networks``: ``(name, NetworkReport, attribution rows or None)``."""
    images = have_matplotlib() if images is None else images
    e = html.escape
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{e(title)}</h1>",
           f"<p class='small'>Generated {e(time.strftime('%Y-%m-%d %H:%M:%S'))}. "
           "<b>diff/allowed</b>: the worst |theano - twin| over the allowance (table floor + the layer's declared "
           "error bound); &gt; 1 fails. <b>Blame</b>: which side is further from a higher-precision reference "
           "(Theano's own graph in float64 for a float32 discrepancy; the twin's numerics on float64 / long double "
           "copies screen every case), judged against one side's rounding allowance (half the declared bound + a few "
           "ulp); <i>different functions</i> means the two sides' float64 evaluations disagree as much as the sides "
           "do (for float64 cases: by more than any precision loss), so no precision arbitrates: the two compute "
           "different functions. ULPs are of the tested dtype.</p>"]
    if not images:
        out.append("<p class='small'>matplotlib is not installed: tables only.</p>")
    n_ok = sum(s.verdict == "certified" for s in stats)
    out.append(f"<p id='summary'><b>{n_ok}/{len(stats)}</b> pair-dtypes certified.</p>")
    out.append(_toc(stats, networks))

    out.append("<h2 id='families'>Worst error-to-bound ratio per family</h2><table><tr><th>family</th><th>worst diff/allowed</th>"
               "<th>pair</th><th>dtype</th><th>blame</th></tr>")
    for fam, s in _family_rows(stats):
        out.append(f"<tr><td>{e(fam)}</td><td class='num'>{_num(s.worst_ratio)}</td><td>{e(s.pair)}</td>"
                   f"<td>{e(s.dtype)}</td><td class='{_bcls(getattr(s, 'blame', ''))}'>"
                   f"{e(getattr(s, 'blame', ''))}</td></tr>")
    out.append("</table>")

    out.append("<h2 id='pairs'>Pairs</h2><table><tr><th>pair</th><th>family</th><th>dtype</th><th>verdict</th><th>examples</th>"
               "<th>worst ulp</th><th>worst diff/allowed</th><th>bound</th><th>blame</th><th>theano ulp to oracle</th>"
               "<th>twin ulp to oracle</th><th>reproducer</th></tr>")
    for i, s in enumerate(stats):
        cls = {"DISCREPANCY": "bad", "ERROR": "err"}.get(s.verdict, "")
        blame = getattr(s, "blame", "")
        out.append(
            f"<tr class='{cls}' id='row-{i}'><td><a href='#pair-{i}'>{e(s.pair)}</a></td><td>{e(getattr(s, 'family', ''))}</td>"
            f"<td>{e(s.dtype)}</td><td class='v-{e(s.verdict)}'>{e(s.verdict)}</td><td class='num'>{s.examples}</td>"
            f"<td class='num'>{_num(s.worst_ulp)}</td><td class='num'>{_num(s.worst_ratio)}</td>"
            f"<td>{e(getattr(s, 'bound', ''))}</td><td class='{_bcls(blame)}'>{e(blame)}</td>"
            f"<td class='num'>{_num(getattr(s, 'theano_ulps_to_oracle', float('nan')))}</td>"
            f"<td class='num'>{_num(getattr(s, 'twin_ulps_to_oracle', float('nan')))}</td>"
            f"<td>{_links(s, base_dir)}</td></tr>")
    out.append("</table>")

    out.append("<h2 id='per-pair'>Per pair</h2><p class='small'>Failing pairs are open; a certified pair "
               "opens on a click.</p>")
    for i, s in enumerate(stats):
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(getattr(s, "blame_counts", {}).items()))
        opened = " open" if s.verdict != "certified" else ""
        out.append(f"<details class='pair' id='pair-{i}'{opened}><summary><b>{e(s.pair)}</b> [{e(s.dtype)}] "
                   f"<span class='v-{e(s.verdict)}'>{e(s.verdict)}</span> <span class='small'>diff/allowed "
                   f"{_num(s.worst_ratio)}, blame {e(getattr(s, 'blame', '') or '-')}</span></summary><div>")
        out.append("<p class='small'>")
        out.append(f"worst diff/allowed {_num(s.worst_ratio)}; worst ulp {_num(s.worst_ulp)}; tolerance {e(s.tolerance)}; "
                   f"bound {e(getattr(s, 'bound', ''))}<br>")
        if getattr(s, "blame_note", ""):
            out.append(f"blame of the worst case: {e(s.blame_note)}<br>")
        if counts:
            out.append(f"blame over all cases: {e(counts)}<br>")
        if s.worst_case:
            out.append(f"worst example: <code>{e(s.worst_case)}</code><br>")
        if s.message:
            out.append(f"<pre>{e(s.message)}</pre>")
        findings = getattr(s, "findings", []) or []
        if len(findings) > 1:  # each distinct failure with its own reproducer
            out.append("</p><ol class='small'>")
            for f in findings:
                repro = f" {_link(f.reproducer, base_dir)} (<code>{e(f.replay_command)}</code>)" if f.reproducer else ""
                out.append(f"<li><b>{e(f.kind)}</b>: {e(f.message.splitlines()[0])}{repro}</li>")
            out.append("</ol><p class='small'>")
        elif s.reproducer:
            out.append(f"reproducer: {_link(s.reproducer, base_dir)} (<code>{e(s.replay_command)}</code>)")
        out.append("</p>")
        if images:
            out.append(_img(pair_figure(s), f"error histograms of {s.pair} {s.dtype}"))
        out.append("</div></details>")

    if networks:
        out.append("<h2 id='networks'>Networks</h2>")
    for k, (name, report, rows) in enumerate(networks):
        if rows is None and report is not None:
            from .oracle import attribute_from_report
            rows = attribute_from_report(report)
        verdict = "certified" if report is None or report.ok else "DISCREPANCY"
        out.append(f"<h3 id='net-{k}'>{e(name)} <span class='v-{verdict}'>{verdict}</span></h3>")
        if report is not None:
            out.append(f"<p class='small'>{e(report.message())}</p>")
        if images:
            out.append(_img(network_figure(name, rows or []), f"per-layer error of {name}"))
        ratio = {r.index: r for r in (report.rows if report is not None else [])}
        opened = "" if verdict == "certified" else " open"
        out.append(f"<details{opened}><summary class='small'>per-layer table ({len(rows or [])} layers)</summary>")
        out.append("<table><tr><th>#</th><th>layer</th><th>class</th><th>verdict</th><th>total abs</th><th>total ulp</th>"
                   "<th>added abs</th><th>added ulp</th><th>propagated abs</th><th>input error</th><th>amplification</th>"
                   "<th>diff/allowed</th></tr>")
        for r in rows or []:
            rep = ratio.get(r.index)
            cls = "" if rep is None or rep.ok else "bad"
            out.append(f"<tr class='{cls}'><td>{r.index}</td><td>{e(r.name)}</td><td>{e(r.cls)}</td>"
                       f"<td>{e(rep.verdict if rep is not None else '')}</td><td class='num'>{_num(r.total_abs)}</td>"
                       f"<td class='num'>{_num(r.total_ulps)}</td><td class='num'>{_num(r.added_abs)}</td>"
                       f"<td class='num'>{_num(r.added_ulps)}</td><td class='num'>{_num(r.propagated_abs)}</td>"
                       f"<td class='num'>{_num(r.input_abs)}</td><td class='num'>{_num(r.amplification)}</td>"
                       f"<td class='num'>{_num(rep.max_ratio if rep is not None else float('nan'))}</td></tr>")
        out.append("</table></details>")
    out.append(OPEN_TARGET)
    out.append("</body></html>\n")
    return "\n".join(out)


def write_html(stats: Sequence[Any], path: str, networks: Sequence[Tuple[str, Any, Any]] = (),
               title: str = "theano-twins certification", images: Optional[bool] = None) -> str:
    """Write the report atomically to ``path``; reproducer links are relative to its directory."""
    from layers_np.atomic import atomic_write_text

    base = os.path.dirname(os.path.abspath(path))
    text = render_html(stats, base_dir=base, networks=networks, title=title, images=images)
    atomic_write_text(path, text)
    return path
