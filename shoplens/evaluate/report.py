"""Evaluation report: PNG charts (matplotlib, Agg) and one self-contained HTML page.

The HTML embeds the PNGs as data URIs so a report can be mailed or attached
to a ticket as a single file; the PNGs are also written beside it. Nothing
time-dependent is written, so equal inputs give byte-identical reports.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .metrics import Evaluation, canonical

NDCG_KS = (1, 2, 3, 5, 10, 15, 20, 30, 50, 100)
COLOURS = ("#1f77b4", "#ff7f0e")
PNG_META = {"Software": None}


@dataclass
class RunResult:
    label: str
    evaluation: Evaluation
    texts: dict[str, str] = field(default_factory=dict)  # qid -> query text
    source: str = ""


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fmt(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def paired_randomization(a: np.ndarray, b: np.ndarray, trials: int = 10000, seed: int = 0) -> float:
    """Two-sided p-value of mean(b - a) under random sign flips (Smucker et al., CIKM 2007)."""
    d = np.asarray(b, float) - np.asarray(a, float)
    if len(d) == 0 or np.allclose(d, 0):
        return 1.0
    rng = np.random.default_rng(seed)
    observed = abs(d.mean())
    hits = 0
    for start in range(0, trials, 1000):
        n = min(1000, trials - start)
        signs = rng.choice((-1.0, 1.0), size=(n, len(d)))
        hits += int(np.sum(np.abs((signs * d).mean(axis=1)) >= observed - 1e-12))
    return (hits + 1) / (trials + 1)


def compare(a: Evaluation, b: Evaluation, metric: str) -> dict[str, float]:
    """Per-query wins/losses/ties of b over a on one metric, with a paired randomization p-value."""
    qids = sorted(set(a.per_query) & set(b.per_query))
    va = np.array([a.per_query[q][metric] for q in qids])
    vb = np.array([b.per_query[q][metric] for q in qids])
    diff = vb - va
    return {
        "queries": len(qids),
        "wins": int(np.sum(diff > 1e-12)),
        "losses": int(np.sum(diff < -1e-12)),
        "ties": int(np.sum(np.abs(diff) <= 1e-12)),
        "delta": float(diff.mean()) if len(qids) else 0.0,
        "p_value": paired_randomization(va, vb),
    }


def _metrics_png(path: Path, runs: Sequence[RunResult], names: list[str]) -> None:
    plt = _plt()
    cols = [r.label for r in runs] + (["Δ (B−A)"] if len(runs) == 2 else [])
    cells = []
    for n in names:
        vals = [r.evaluation.metrics.get(n) for r in runs]
        row = [_fmt(v) for v in vals]
        if len(runs) == 2:
            a, b = vals
            row.append("n/a" if a is None or b is None or math.isnan(a) or math.isnan(b) else f"{b - a:+.4f}")
        cells.append(row)
    fig, ax = plt.subplots(figsize=(2.2 + 1.9 * len(cols), 0.27 * (len(names) + 1) + 0.35))
    ax.axis("off")
    t = ax.table(cellText=cells, rowLabels=names, colLabels=cols, loc="upper center", cellLoc="right")
    t.auto_set_font_size(False)
    t.set_fontsize(10)
    t.scale(1, 1.35)
    for (r, c), cell in t.get_celld().items():
        if r == 0 or c == -1:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#eef2f7")
        if len(runs) == 2 and c == len(cols) - 1 and r > 0:
            txt = cell.get_text().get_text()
            cell.get_text().set_color(
                "#2a7d2a" if txt.startswith("+") and txt.strip("+0.") else "#b22222" if txt.startswith("-") else "black"
            )
    n_q = ", ".join(f"{r.label}: {len(r.evaluation.per_query)} queries" for r in runs)
    ax.set_title(f"Metrics ({n_q})", fontsize=11)
    fig.savefig(path, dpi=110, metadata=PNG_META, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)


def _pr_png(path: Path, runs: Sequence[RunResult]) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for r, colour in zip(runs, COLOURS):
        rec, prec = r.evaluation.curve_pr()
        ax.plot(
            rec,
            prec,
            marker="o",
            color=colour,
            label=f"{r.label} (MAP {_fmt(r.evaluation.metrics.get('map'))})"
            if "map" in r.evaluation.metrics
            else r.label,
        )
    ax.set_xlabel("recall")
    ax.set_ylabel("interpolated precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title("Precision–recall (11-point interpolated, mean over queries)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=PNG_META)
    plt.close(fig)


def _ndcg_png(path: Path, runs: Sequence[RunResult]) -> None:
    plt = _plt()
    depth = max((len(rk.docs) for r in runs for rk in r.evaluation.rankings.values()), default=10)
    ks = [k for k in NDCG_KS if k <= max(depth, 10)]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for r, colour in zip(runs, COLOURS):
        curve = r.evaluation.curve_ndcg(ks)
        ax.plot(ks, [curve[k] for k in ks], marker="o", color=colour, label=r.label)
    ax.set_xscale("log")
    ax.set_xticks(ks)
    ax.set_xticklabels([str(k) for k in ks])
    ax.set_xlabel("K (cut-off)")
    ax.set_ylabel("mean nDCG@K")
    ax.set_ylim(0, 1.02)
    ax.set_title("nDCG@K")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=PNG_META)
    plt.close(fig)


def _per_query_png(path: Path, runs: Sequence[RunResult], metric: str) -> None:
    plt = _plt()
    fig, (h, s) = plt.subplots(1, 2, figsize=(11, 4.2))
    bins = np.linspace(0, 1, 21)
    for r, colour in zip(runs, COLOURS):
        vals = np.array([v[metric] for v in r.evaluation.per_query.values()])
        h.hist(vals, bins=bins, alpha=0.55 if len(runs) > 1 else 0.85, color=colour, label=r.label, edgecolor="white")
        s.plot(np.sort(vals)[::-1], color=colour, label=f"{r.label} (mean {vals.mean():.3f})" if len(vals) else r.label)
    h.set_xlabel(metric)
    h.set_ylabel("queries")
    h.set_title(f"Distribution of per-query {metric}")
    s.set_xlabel("queries, best to worst")
    s.set_ylabel(metric)
    s.set_ylim(0, 1.02)
    s.set_title(f"Per-query {metric}, sorted")
    for ax in (h, s):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=PNG_META)
    plt.close(fig)


def _compare_png(path: Path, a: RunResult, b: RunResult, metric: str) -> None:
    plt = _plt()
    qids = sorted(set(a.evaluation.per_query) & set(b.evaluation.per_query))
    va = np.array([a.evaluation.per_query[q][metric] for q in qids])
    vb = np.array([b.evaluation.per_query[q][metric] for q in qids])
    d = np.sort(vb - va)[::-1]
    c = compare(a.evaluation, b.evaluation, metric)
    fig, (sc, bar) = plt.subplots(1, 2, figsize=(11, 4.6))
    sc.scatter(va, vb, s=14, alpha=0.6, color="#444")
    sc.plot([0, 1], [0, 1], color="#999", lw=1, ls="--")
    sc.set_xlim(-0.02, 1.02)
    sc.set_ylim(-0.02, 1.02)
    sc.set_xlabel(f"{a.label}  {metric}")
    sc.set_ylabel(f"{b.label}  {metric}")
    sc.set_title(f"Per-query {metric}: above the diagonal = {b.label} better")
    colours = np.where(d > 1e-12, "#2a7d2a", np.where(d < -1e-12, "#b22222", "#999999"))
    bar.bar(np.arange(len(d)), d, color=colours, width=1.0)
    bar.axhline(0, color="black", lw=0.8)
    bar.set_xlabel("queries, sorted by difference")
    bar.set_ylabel(f"Δ {metric} ({b.label} − {a.label})")
    bar.set_title(
        f"wins {c['wins']} / losses {c['losses']} / ties {c['ties']}   mean Δ {c['delta']:+.4f}, {_p(c['p_value'])}"
    )
    for ax in (sc, bar):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=PNG_META)
    plt.close(fig)


def _pval(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _p(p: float) -> str:
    return "p " + _pval(p) if p < 0.001 else f"p = {_pval(p)}"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(alt)} ({path.name})</figcaption></figure>'  # noqa: E501


CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1150px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccd;padding:4px 10px;text-align:right}
th{background:#eef2f7}td:first-child,th:first-child{text-align:left}.win{color:#2a7d2a}.loss{color:#b22222}
figure{display:inline-block;margin:0.5em}img{max-width:100%;border:1px solid #eee}
.scroll{max-height:480px;overflow:auto;display:inline-block}small{color:#666}"""


def write_report(
    out_dir: str | Path,
    runs: Sequence[RunResult],
    title: str = "shoplens evaluation",
    primary: str = "ndcg@10",
    notes: Sequence[str] = (),
) -> Path:
    """Write index.html + metrics.png, pr_curve.png, ndcg_at_k.png, per_query.png (and compare.png)."""
    if not 1 <= len(runs) <= 2:
        raise ValueError("a report takes one run, or two to compare")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    primary = canonical(primary)
    names = [n for n in runs[0].evaluation.metrics if all(n in r.evaluation.metrics for r in runs)]
    if primary not in runs[0].evaluation.per_query.get(next(iter(runs[0].evaluation.per_query), ""), {primary: 0}):
        raise ValueError(f"primary metric {primary} was not computed")
    figs = [
        ("metrics.png", "Metrics table"),
        ("pr_curve.png", "Precision–recall curve"),
        ("ndcg_at_k.png", "nDCG@K curve"),
        ("per_query.png", f"Per-query {primary}"),
    ]
    _metrics_png(out / "metrics.png", runs, names)
    _pr_png(out / "pr_curve.png", runs)
    _ndcg_png(out / "ndcg_at_k.png", runs)
    _per_query_png(out / "per_query.png", runs, primary)
    if len(runs) == 2:
        _compare_png(out / "compare.png", runs[0], runs[1], primary)
        figs.append(("compare.png", f"{runs[1].label} vs {runs[0].label}: per-query wins and losses"))

    e = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    parts.append(
        "<ul>"
        + "".join(
            f"<li><b>{e(r.label)}</b>: {e(r.source)} — {len(r.evaluation.per_query)} queries evaluated"
            + (
                f", {len(r.evaluation.only_in_qrels)} judged queries without results"
                if r.evaluation.only_in_qrels
                else ""
            )
            + "</li>"
            for r in runs
        )
        + "</ul>"
    )
    head = "".join(f"<th>{e(r.label)}</th>" for r in runs)
    rows = []
    cmp_cols = len(runs) == 2
    for n in names:
        vals = [r.evaluation.metrics[n] for r in runs]
        cells = "".join(f"<td>{_fmt(v)}</td>" for v in vals)
        if cmp_cols:
            pq = n in runs[0].evaluation.per_query.get(next(iter(runs[0].evaluation.per_query), ""), {})
            c = compare(runs[0].evaluation, runs[1].evaluation, n) if pq and not n.startswith("num_") else None
            ok = not any(isinstance(v, float) and math.isnan(v) for v in vals)
            delta = vals[1] - vals[0] if ok else float("nan")
            cls = "win" if delta > 1e-12 else "loss" if delta < -1e-12 else ""
            cells += f"<td class='{cls}'>{'n/a' if not ok else f'{delta:+.4f}'}</td>"
            cells += (
                f"<td>{c['wins']} / {c['losses']} / {c['ties']}</td><td>{e(_pval(c['p_value']))}</td>"
                if c
                else "<td></td><td></td>"
            )
        rows.append(f"<tr><td>{e(n)}</td>{cells}</tr>")
    extra = "<th>Δ (B−A)</th><th>wins / losses / ties</th><th>p (paired randomization)</th>" if cmp_cols else ""
    parts.append(f"<h2>Metrics</h2><table><tr><th>metric</th>{head}{extra}</tr>{''.join(rows)}</table>")
    parts.append("<h2>Charts</h2>" + "".join(_img(out / f, alt) for f, alt in figs))

    texts = {**runs[0].texts, **(runs[1].texts if cmp_cols else {})}
    qids = sorted(set.intersection(*(set(r.evaluation.per_query) for r in runs)))
    if cmp_cols:
        qids.sort(
            key=lambda q: (runs[1].evaluation.per_query[q][primary] - runs[0].evaluation.per_query[q][primary], q)
        )
    else:
        qids.sort(key=lambda q: (runs[0].evaluation.per_query[q][primary], q))
    qhead = "".join(f"<th>{e(r.label)} {e(primary)}</th>" for r in runs) + ("<th>Δ</th>" if cmp_cols else "")
    qrows = []
    for q in qids:
        vals = [r.evaluation.per_query[q][primary] for r in runs]
        rk = runs[0].evaluation.rankings.get(q)
        cells = "".join(f"<td>{v:.4f}</td>" for v in vals)
        if cmp_cols:
            d = vals[1] - vals[0]
            cells += f"<td class='{'win' if d > 1e-12 else 'loss' if d < -1e-12 else ''}'>{d:+.4f}</td>"
        qrows.append(
            f"<tr><td>{e(q)}</td><td>{e(texts.get(q, ''))}</td><td>{rk.num_rel if rk else ''}</td>{cells}</tr>"
        )
    order = "largest loss first" if cmp_cols else "worst first"
    parts.append(
        f"<h2>Per query ({order})</h2><div class='scroll'><table><tr><th>qid</th><th>query</th>"
        f"<th>relevant</th>{qhead}</tr>{''.join(qrows)}</table></div>"
    )
    std_notes = [
        "Metrics follow trec_eval: the run is sorted by score (ties by docid, descending); unjudged "
        "documents are non-relevant; grade ≥ 1 is relevant; nDCG gain = grade with log2 discount; "
        "queries judged with no relevant document count as 0.",
        "roc_auc and avg_precision pool all judged (query, document) pairs in the run, as scikit-learn computes them.",
    ]
    parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in [*notes, *std_notes]) + "</ul>")
    parts.append("</body></html>")
    index = out / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index
