"""How to read ~400 scattered float32 rows of an sq8 field's `.f32.npy` for re-scoring: the ways compared.

    nice .venv/bin/python benchmarks/bench_row_reads.py --rows 200000 --reads 400 --repeats 300

Writes a rows x 384 float32 .npy (seeded), warms the page cache by reading it once, then times per call
(p50 µs, each call a fresh random row set, the same sets for every method):
  mmap      numpy fancy indexing of a read-only memory map (what `FaissIndex` did before; pages enter VmRSS)
  pread     one `os.pread` per row into bytes, then np.frombuffer
  preadv    `store.vectors.RowFile.read`: one `os.preadv` per run of consecutive rows, into the output buffer
  fromfile  one `np.fromfile(f, count, offset)` per row on a file object opened once
and checks every method returns the same rows. Reports VmRSS growth of each method, too.
"""

from __future__ import annotations

import argparse
import mmap
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402


def vmrss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    from shoplens.store.vectors import RowFile

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--reads", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=300)
    a = ap.parse_args()
    dim = 384
    path = C.OUT / f"row_reads_{a.rows}.npy"
    if not path.exists():
        C.OUT.mkdir(parents=True, exist_ok=True)
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(a.rows, dim))
        rng = np.random.default_rng(0)
        for s in range(0, a.rows, 50_000):
            out[s : s + 50_000] = rng.standard_normal((min(50_000, a.rows - s), dim), np.float32)
        out.flush()
        del out
    with open(path, "rb") as f:  # warm the page cache: every method then reads cached pages
        while f.read(1 << 24):
            pass
    rf = RowFile(path)
    off, rb = rf.offset, rf.row_bytes
    fd = os.open(path, os.O_RDONLY)
    fobj = open(path, "rb")
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    mapped = np.frombuffer(mm, np.float32, count=a.rows * dim, offset=off).reshape(a.rows, dim)

    def by_mmap(rows: np.ndarray) -> np.ndarray:
        order = np.argsort(rows, kind="stable")
        out = np.empty((len(rows), dim), np.float32)
        out[order] = mapped[rows[order]]
        return out

    def by_pread(rows: np.ndarray) -> np.ndarray:
        return np.stack([np.frombuffer(os.pread(fd, rb, off + int(r) * rb), np.float32) for r in rows])

    def by_fromfile(rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), dim), np.float32)
        for i, r in enumerate(rows.tolist()):
            fobj.seek(0)
            out[i] = np.fromfile(fobj, np.float32, dim, offset=off + r * rb)
        return out

    methods = {"preadv": rf.read, "pread": by_pread, "fromfile": by_fromfile, "mmap": by_mmap}  # mmap last: VmRSS
    sets = [np.random.default_rng(i).choice(a.rows, a.reads, replace=False) for i in range(a.repeats)]
    ref = np.load(path, mmap_mode="r")
    res = []
    for name, fn in methods.items():
        rss0 = vmrss_mib()
        lat = []
        for rows in sets:
            t0 = time.perf_counter()
            got = fn(rows)
            lat.append((time.perf_counter() - t0) * 1e6)
        assert np.array_equal(got, ref[sets[-1]]), name
        res.append([name, C.pct(lat, 50), C.pct(lat, 99), vmrss_mib() - rss0])
    base = res[0][1]
    print(f"{a.reads} scattered rows of {a.rows:,} x {dim} float32, {a.repeats} calls, load {os.getloadavg()[0]:.1f}")
    print(C.md_table(["method", "p50 µs", "p99 µs", "VmRSS growth MiB"], res))
    print("p50 × preadv: " + ", ".join(f"{r[0]} {r[1] / base:.2f}" for r in res))


if __name__ == "__main__":
    main()
