"""Do two checkouts of shoplens give the same search results? (A refactoring must not move any.)

Each checkout builds a store from the same real products in its own process and answers the
same queries: attribute queries in English and Chinese (with a facet), photo queries and
text+photo queries. The second store starts from a copy of the first one's feature cache and
exported ONNX models, so the comparison covers everything from the stored features on (store
writing, field map, heads, search, fusion, understanding); encoders are covered by the tests.
Results (ids, scores to 1e-9, components, facets, understood attributes) and the manifests'
field map and vector fields must be identical.

    .venv/bin/python benchmarks/same_results.py --base /path/to/checkout/of/main --products 200
Exit status 1 when anything differs; writes benchmarks/out/same_results.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

CHILD = r"""
import json, sys
from pathlib import Path
store, out, bench, n, offset = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
import shoplens
from shoplens.config import BuildConfig, EncoderConfig, EngineConfig
from shoplens.engine import Engine
sys.path.insert(1, bench)  # after the checkout under test, so its shoplens stays the one imported
import common as C
from bench_quality import annotate, make_queries
rows = C.read_fashion_rows()[offset : offset + n]
cat = C.write_catalog(rows, store.parent / "catalog.csv")
config = EngineConfig(encoders=EncoderConfig(cache_dir=store.parent / "onnx"))
eng = Engine.build(cat, store, config, BuildConfig(auto_align=False, progress=False))
res = {"shoplens": shoplens.__file__}
for q in make_queries(annotate(rows), 30, 0):
    for f in ("text", "zh"):
        r = eng.search(text=q[f], k=10, facets=["gender"])
        und = (r.understanding or {}).get("attributes")
        res[f"{q['qid']}:{f}"] = [[h.id, round(h.score, 9), sorted(h.components)] for h in r.hits] + [r.facets, und]
for r0 in rows[:10]:
    img = str(C.FASHION / r0["image"])
    res[f"photo:{r0['id']}"] = [[h.id, round(h.score, 9)] for h in eng.search(image=img, k=10).hits]
    res[f"black+photo:{r0['id']}"] = [[h.id, round(h.score, 9)] for h in eng.search(text="black", image=img, k=10).hits]
m = json.loads(eng.manifest.to_json())
res["manifest.field_map"] = m["field_map"]
res["manifest.fields"] = {k: {kk: v[kk] for kk in ("rows", "dim", "index", "source")} for k, v in m["fields"].items()}
out.write_text(json.dumps(res, ensure_ascii=False))
"""


def run(code: Path, work: Path, n: int, offset: int) -> dict:
    out = work / "results.json"
    p = subprocess.run(
        [sys.executable, "-c", CHILD, str(work / "store"), str(out), str(Path(__file__).parent), str(n), str(offset)],
        cwd=code,  # `python -c` puts the working directory first on sys.path: the checkout under test
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if p.returncode:
        raise SystemExit(f"{code}: {p.stderr[-3000:]}")
    res = json.loads(out.read_text())
    assert res.pop("shoplens").startswith(str(code.resolve())), f"{code}'s shoplens was not the one imported"
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, required=True, help="the other checkout (e.g. a worktree of main)")
    ap.add_argument("--code", type=Path, default=C.REPO, help="this checkout (default: the one holding this script)")
    ap.add_argument("--products", type=int, default=200)
    ap.add_argument("--offset", type=int, default=1000, help="first row of the shared fashion catalog used")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="same_results_") as tmp:
        base_dir, code_dir = Path(tmp) / "base", Path(tmp) / "code"
        base_dir.mkdir()
        base = run(a.base, base_dir, a.products, a.offset)
        (code_dir / "store" / "cache").mkdir(parents=True)
        shutil.copytree(base_dir / "onnx", code_dir / "onnx")
        for f in (base_dir / "store" / "cache").glob("features.sqlite*"):
            shutil.copy2(f, code_dir / "store" / "cache" / f.name)
        code = run(a.code, code_dir, a.products, a.offset)
    differ = sorted(k for k in base.keys() | code.keys() if base.get(k) != code.get(k))
    print(
        f"{a.base} vs {a.code}: {len(base) - len(differ)}/{len(base)} results identical"
        + (f"; differ: {differ[:10]}" if differ else "")
    )
    C.write_json(
        "same_results",
        {
            "base": str(a.base),
            "code": str(a.code),
            "identical": len(base) - len(differ),
            "total": len(base),
            "differ": differ,
        },
    )
    return 1 if differ else 0


if __name__ == "__main__":
    C.show_logs()
    raise SystemExit(main())
