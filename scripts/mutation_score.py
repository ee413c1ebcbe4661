"""Per-module mutation score from mutmut's results (killed / (killed + survived); timeouts count as killed)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter


def main() -> int:
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"], capture_output=True, text=True
    ).stdout
    counts: dict[str, Counter] = {}
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        module = name.split(".x_")[0].split(".xǁ")[0]
        counts.setdefault(module, Counter())[status.strip()] += 1
    for module, c in sorted(counts.items()):
        killed = c["killed"] + c["timeout"] + c["segfault"]  # segfault: the test process died = detected
        tested = killed + c["survived"]
        score = f"{100 * killed / tested:.0f}%" if tested else "n/a"
        print(f"{module:40s} killed {killed:4d} / {tested:4d} = {score:>4s}   ({dict(c)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
