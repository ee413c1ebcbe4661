"""bench_quality.py's README figures for two (or more) code versions in one run, query by query interleaved.

Each version is a checkout of shoplens (e.g. a `git worktree add --detach DIR COMMIT`); it runs in its
own process (benchmarks/quality_worker.py with PYTHONPATH=DIR), builds its own store from the same
catalog with its own code (feature cache seeded from this checkout's benchmarks/out, so photos are
encoded once), and answers searches over a pipe. The queries, judgments, augmented photos and NDCG are
made here, once, by this checkout's code, so every version is asked exactly the same and scored the
same way. Each query goes to every version before the next query, the order alternating, so a
latency ratio compares the same machine conditions; latency is timed inside the worker around
`Engine.search` (uncached: every query text and photo is distinct within its set).

Figures (as bench_quality.py --no-align with the README's table): NDCG@10 of hybrid English and
Chinese attribute queries vs Okapi BM25 over titles; each text component alone (every other weight
the version knows at 0); augmented-photo rank-1 / top-5; p50/p90 search latency.

    nice .venv/bin/python benchmarks/bench_quality_versions.py --version before=/work/guard-before \
        --version after=. --queries 150 --image-queries 300 --rebuild
Small: add --products 1500 --queries 80 --image-queries 100.
Writes benchmarks/out/bench_quality_versions[_N].json (or --name NAME.json).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402
from bench_quality import AUG_KINDS, annotate, augment, bm25_titles_runs, image_path, make_queries, qrels_for  # noqa: E402

WORKER = Path(__file__).resolve().parent / "quality_worker.py"
ALONE = ("bm25", "text_dense:e5", "text_dense:use", "text_to_image")
BUILT_BY = ".bench_built_by"  # the commit a benchmark store was built with (reused only by the same one)


class Worker:
    """One version's engine in a child process (see quality_worker.py)."""

    def __init__(self, label: str, repo: Path, catalog: Path, store: Path, build: bool):
        env = {**__import__("os").environ, "PYTHONPATH": str(repo)}
        cmd = [sys.executable, str(WORKER), "--label", label, "--catalog", str(catalog), "--store", str(store)]
        cmd += ["--onnx-dir", str(C.ONNX_DIR)] + (["--build"] if build else [])
        self.label = label
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            raise RuntimeError(f"{label}: worker ended before it was ready (exit {self.proc.wait()})")
        self.hello: dict[str, Any] = json.loads(line)

    def search(self, **req: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"op": "search", **req}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.label}: worker died (exit {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=120)


def head_commit(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


def seed_ocr_cache(store: Path) -> int:
    """Photo readings other benchmark stores cached (cache/ocr.sqlite, keyed by reader fingerprint and
    photo hash, so a version whose reader differs reads again): a version with OCR is not re-read from
    scratch (~11 min for 7,710 photos on 2 busy cores)."""
    import sqlite3

    dst = store / "cache" / "ocr.sqlite"
    dst.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(f"file:{dst}", uri=True)
    db.execute("CREATE TABLE IF NOT EXISTS ocr (fp TEXT, key TEXT, gated INTEGER, text TEXT, PRIMARY KEY (fp, key))")
    for src in sorted(C.OUT.rglob("ocr.sqlite")):
        if src.resolve() == dst.resolve():
            continue
        try:
            db.execute("ATTACH DATABASE ? AS src", (f"file:{src}?mode=ro",))
            db.execute("INSERT OR IGNORE INTO ocr SELECT fp, key, gated, text FROM src.ocr")
            db.commit()
            db.execute("DETACH DATABASE src")
        except sqlite3.Error as e:  # best effort, as seed_cache
            print(f"seed_ocr_cache: skipped {src}: {e}", file=sys.stderr)
    n = db.execute("SELECT COUNT(*) FROM ocr").fetchone()[0]
    db.close()
    return n


def start(label: str, repo: Path, catalog: Path, store: Path, rebuild: bool) -> Worker:
    commit = head_commit(repo)
    marker = store / BUILT_BY
    dirty = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "shoplens"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    reuse = not rebuild and not dirty and marker.is_file() and marker.read_text().strip() == commit
    if not reuse:
        if store.exists():
            shutil.rmtree(store)
        seeded, readings = C.seed_cache(store), seed_ocr_cache(store)
        print(
            f"{label}: building {store} with {repo} ({commit[:7]}), {seeded} cached features and {readings} "
            "photo readings seeded",
            file=sys.stderr,
        )
    w = Worker(label, repo, catalog, store, build=not reuse)
    if not reuse:
        marker.write_text(commit + "\n")
    w.hello["reused_store"] = reuse
    w.hello["dirty"] = bool(dirty)
    print(f"{label}: ready ({w.hello['shoplens']}, build {w.hello['build_s']:.0f} s)", file=sys.stderr)
    return w


def ask(workers: Sequence[Worker], i: int, **req: Any) -> list[dict[str, Any]]:
    """Every version answers query i; who goes first rotates with i."""
    n = len(workers)
    order = [(i + j) % n for j in range(n)]
    out: list[dict[str, Any]] = [{}] * n
    for j in order:
        out[j] = workers[j].search(**req)
    return out


def pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def text_runs(workers, queries, field: str, only: str | None = None) -> tuple[list[dict], list[list[float]]]:
    runs: list[dict[str, list[str]]] = [{} for _ in workers]
    ms: list[list[float]] = [[] for _ in workers]
    for i, q in enumerate(queries):
        req: dict[str, Any] = {"text": q[field], "k": 10}
        if only:
            req["only"] = only
        for j, r in enumerate(ask(workers, i, **req)):
            runs[j][q["qid"]] = r["ids"]
            ms[j].append(r["ms"])
    return runs, ms


def text_figures(workers, rows, queries, components: bool) -> dict[str, Any]:
    qrels = qrels_for(queries, rows)
    ref, ref_pq, impl = C.mean_ndcg(bm25_titles_runs(rows, queries), qrels)
    out: dict[str, Any] = {"queries": len(queries), "bm25_titles": ref, "ndcg_impl": impl, "versions": {}}
    per: dict[str, dict[str, Any]] = {w.label: {} for w in workers}
    sets = [("hybrid", "text", None), ("hybrid_zh", "zh", None)]
    if components:
        sets += [(f"only {c}", "text", c) for c in ALONE]
    for name, field, only in sets:
        t0 = time.perf_counter()
        runs, ms = text_runs(workers, queries, field, only)
        for w, run, m in zip(workers, runs, ms, strict=True):
            v, pq, _ = C.mean_ndcg(run, qrels)
            per[w.label][name] = {"ndcg": v, "x_bm25": v / ref if ref else float("inf"), "per_query": pq}
            if only is None:  # the first time each text reaches the engine: uncached latency
                per[w.label][name].update(p50_ms=pct(m, 50), p90_ms=pct(m, 90))
        print(f"  {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    out["versions"] = per
    out["queries_list"] = [{k: q[k] for k in ("qid", "text", "zh", "attrs", "exact")} for q in queries]
    return out


def image_figures(workers, rows, n: int, seed: int, kinds: Sequence[str]) -> dict[str, Any]:
    """bench_quality.image_quality's sample, augmentations and counts, every photo sent to every version."""
    rng = np.random.default_rng(seed)
    with_img = [r for r in rows if r.get("image") and image_path(r).is_file()]
    sample = [with_img[i] for i in rng.permutation(len(with_img))[:n]]
    sha: dict[str, list[str]] = {}
    for r in with_img:
        sha.setdefault(hashlib.sha1(image_path(r).read_bytes()).hexdigest(), []).append(r["id"])
    dup_of = {i: set(v) for v in sha.values() if len(v) > 1 for i in v}
    out: dict[str, Any] = {w.label: {} for w in workers}
    for kind in kinds:
        ops = AUG_KINDS if kind == "all" else (kind,)
        krng = np.random.default_rng([seed, AUG_KINDS.index(kind) + 1 if kind in AUG_KINDS else 0])
        counts = [{"rank1": 0, "rank1_dup": 0, "top5": 0, "ms": [], "misses": []} for _ in workers]
        t0 = time.perf_counter()
        for i, r in enumerate(sample):
            data = augment(Image.open(image_path(r)), ops, krng)
            b64 = base64.b64encode(data).decode()
            for c, res in zip(counts, ask(workers, i, image_b64=b64, k=10), strict=True):
                ids = res["ids"]
                hit1 = bool(ids) and ids[0] == r["id"]
                c["rank1"] += hit1
                c["rank1_dup"] += hit1 or (bool(ids) and ids[0] in dup_of.get(r["id"], ()))
                c["top5"] += r["id"] in ids[:5]
                c["ms"].append(res["ms"])
                if not hit1:
                    c["misses"].append({"id": r["id"], "rank": ids.index(r["id"]) + 1 if r["id"] in ids else None,
                                        "top1": res["top"]})  # fmt: skip
        for w, c in zip(workers, counts, strict=True):
            m = max(len(sample), 1)
            out[w.label][kind] = {
                "n": len(sample),
                "rank1": c["rank1"] / m,
                "rank1_or_identical_photo": c["rank1_dup"] / m,
                "hits@5": c["top5"] / m,
                "p50_ms": pct(c["ms"], 50),
                "p90_ms": pct(c["ms"], 90),
                "misses": c["misses"],
            }
        print(f"  image [{kind}]: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return out


def report(result: dict[str, Any], labels: list[str]) -> str:
    base = labels[0]
    head = ["figure", *labels, *(f"{x} / {base}" for x in labels[1:])]
    rows: list[list[Any]] = []

    def add(name: str, vals: list[float]) -> None:
        rows.append([name, *vals, *(v / vals[0] if vals[0] else float("nan") for v in vals[1:])])

    t = result.get("text")
    if t:
        add("BM25 over titles (reference)", [t["bm25_titles"]] * len(labels))
        for key, name in (("hybrid", "hybrid EN"), ("hybrid_zh", "hybrid ZH")):
            add(f"{name} NDCG@10", [t["versions"][x][key]["ndcg"] for x in labels])
            add(f"{name} × BM25", [t["versions"][x][key]["x_bm25"] for x in labels])
        for c in ALONE:
            if f"only {c}" in t["versions"][base]:
                add(f"{c} alone NDCG@10", [t["versions"][x][f"only {c}"]["ndcg"] for x in labels])
        for key, name in (("hybrid", "EN"), ("hybrid_zh", "ZH")):
            add(f"{name} text query p50 ms", [t["versions"][x][key]["p50_ms"] for x in labels])
    im = result.get("image")
    if im:
        for kind in im[base]:
            add(f"photo [{kind}] rank-1", [im[x][kind]["rank1"] for x in labels])
            add(f"photo [{kind}] top-5", [im[x][kind]["hits@5"] for x in labels])
        add("photo [all] p50 ms" if "all" in im[base] else "photo p50 ms",
            [im[x]["all" if "all" in im[x] else next(iter(im[x]))]["p50_ms"] for x in labels])  # fmt: skip
    return C.md_table(head, rows)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="append", required=True, metavar="LABEL=DIR", help="a checkout; 2+ times")
    ap.add_argument("--products", type=int, default=None, help="subset size (default: all 7,710)")
    ap.add_argument("--queries", type=int, default=150)
    ap.add_argument("--image-queries", type=int, default=300)
    ap.add_argument("--augmentations", nargs="+", default=["all"], choices=["all", *AUG_KINDS])
    ap.add_argument("--no-components", action="store_true", help="skip the components-alone runs")
    ap.add_argument("--skip-image", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rebuild", action="store_true", help="rebuild even a store the same commit built")
    ap.add_argument("--name", default=None, help="JSON name under benchmarks/out (default bench_quality_versions[_N])")
    a = ap.parse_args(argv)
    versions = [(lab, Path(d).resolve()) for lab, _, d in (v.partition("=") for v in a.version)]

    C.ensure_onnx()
    n = a.products if a.products and a.products < 7710 else None
    cat, rows = C.fashion_catalog(n, a.seed)
    rows = annotate(rows)
    tag = f"{n}_s{a.seed}" if n else "full"
    workers: list[Worker] = []
    try:
        for lab, repo in versions:
            workers.append(start(lab, repo, cat, C.STORES / f"versions_{lab}_{tag}", a.rebuild))
        labels = [w.label for w in workers]
        fps = {w.label: w.hello["fingerprints"] for w in workers}
        same_fp = all(f["encoders"] == fps[labels[0]]["encoders"] for f in fps.values())
        result: dict[str, Any] = {
            "products": len(rows),
            "seed": a.seed,
            "versions": {w.label: w.hello for w in workers},
            "encoder_fingerprints_identical": same_fp,
        }
        print(f"encoder fingerprints identical across versions: {same_fp}", file=sys.stderr)
        t0 = time.perf_counter()
        queries = make_queries(rows, a.queries, a.seed)
        result["text"] = text_figures(workers, rows, queries, components=not a.no_components)
        if not a.skip_image:
            result["image"] = image_figures(workers, rows, a.image_queries, a.seed, a.augmentations)
        result["eval_s"] = time.perf_counter() - t0
    finally:
        for w in workers:
            w.close()
    print(f"\n### {len(rows)} products, {a.queries} text queries, {a.image_queries} photos\n")
    table = report(result, labels)
    print(table)
    result["table"] = table
    path = C.write_json(a.name or "bench_quality_versions" + (f"_{n}" if n else ""), result)
    print(f"\nwrote {path}")
    return result


if __name__ == "__main__":
    C.show_logs()
    main()
