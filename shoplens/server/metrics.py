"""Prometheus text exposition for the server, without a client library: request counts and latency
histograms per route template (never per raw path, so hostile URLs cannot blow up the label set),
5xx errors, cache hits and misses."""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = {}
        self.sums: dict[tuple[str, str], float] = defaultdict(float)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.errors: dict[tuple[str, str], int] = defaultdict(int)
        self.timeouts = 0

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, method, status)] += 1
            key = (route, method)
            b = self.buckets.setdefault(key, [0] * len(BUCKETS))
            for i, le in enumerate(BUCKETS):
                if seconds <= le:
                    b[i] += 1
            self.sums[key] += seconds
            self.counts[key] += 1
            if status >= 500 and status != 501:  # 501: a feature not in this build, not a failure
                self.errors[key] += 1

    def render(self, cache_hits: int, cache_misses: int, cache_entries: int, generation: str, swaps: int) -> str:
        out = [
            "# HELP shoplens_http_requests_total HTTP requests by route template, method and status.",
            "# TYPE shoplens_http_requests_total counter",
        ]
        with self._lock:
            for (route, method, status), n in sorted(self.requests.items()):
                out.append(
                    f'shoplens_http_requests_total{{route="{_esc(route)}",method="{method}",status="{status}"}} {n}'
                )
            out += [
                "# HELP shoplens_http_request_duration_seconds Request latency by route template.",
                "# TYPE shoplens_http_request_duration_seconds histogram",
            ]
            for (route, method), b in sorted(self.buckets.items()):
                lab = f'route="{_esc(route)}",method="{method}"'
                for le, n in zip(BUCKETS, b):
                    out.append(f'shoplens_http_request_duration_seconds_bucket{{{lab},le="{le}"}} {n}')
                out.append(
                    f'shoplens_http_request_duration_seconds_bucket{{{lab},le="+Inf"}} {self.counts[(route, method)]}'
                )
                out.append(f"shoplens_http_request_duration_seconds_sum{{{lab}}} {self.sums[(route, method)]:.6f}")
                out.append(f"shoplens_http_request_duration_seconds_count{{{lab}}} {self.counts[(route, method)]}")
            out += [
                "# HELP shoplens_http_errors_total 5xx answers except 501 (bugs, timeouts, store down).",
                "# TYPE shoplens_http_errors_total counter",
            ]
            for (route, method), n in sorted(self.errors.items()):
                out.append(f'shoplens_http_errors_total{{route="{_esc(route)}",method="{method}"}} {n}')
            timeouts = self.timeouts
        total = cache_hits + cache_misses
        out += [
            "# HELP shoplens_search_timeouts_total Searches that ran past the timeout (answered 503).",
            "# TYPE shoplens_search_timeouts_total counter",
            f"shoplens_search_timeouts_total {timeouts}",
            "# HELP shoplens_cache_hits_total Result-page cache hits.",
            "# TYPE shoplens_cache_hits_total counter",
            f"shoplens_cache_hits_total {cache_hits}",
            "# HELP shoplens_cache_misses_total Result-page cache misses.",
            "# TYPE shoplens_cache_misses_total counter",
            f"shoplens_cache_misses_total {cache_misses}",
            "# HELP shoplens_cache_hit_ratio Hits over lookups since start.",
            "# TYPE shoplens_cache_hit_ratio gauge",
            f"shoplens_cache_hit_ratio {cache_hits / total if total else 0.0:.6f}",
            "# HELP shoplens_cache_entries Result pages in the cache.",
            "# TYPE shoplens_cache_entries gauge",
            f"shoplens_cache_entries {cache_entries}",
            "# HELP shoplens_store_generation_info The store generation being served.",
            "# TYPE shoplens_store_generation_info gauge",
            f'shoplens_store_generation_info{{generation="{_esc(generation)}"}} 1',
            "# HELP shoplens_generation_swaps_total Generations swapped in without a restart.",
            "# TYPE shoplens_generation_swaps_total counter",
            f"shoplens_generation_swaps_total {swaps}",
        ]
        return "\n".join(out) + "\n"
