"""Decorator-mode workflow benchmark: the `make demo` workflow on its generated data
(1,000 users, 2,000 items, 50,000 interactions), timed stage by stage with the peak resident
memory of each stage. Target: the whole workflow within 10 s on the 2-core reference machine, and
aws-user-personalization's NDCG@10 well above aws-popularity-count's on the same held-out split."""
from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Iterator

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakSampler:
    """Samples the resident set size every few milliseconds; reset at each stage."""

    def __init__(self, interval: float = 0.005):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run() -> dict:
    import boto3

    from personalize_mock import demo, mock_personalize, synthetic

    stages = []
    data = synthetic.generate(n_users=1000, n_items=2000, n_interactions=50_000, seed=0)
    with PeakSampler() as sampler:

        @contextlib.contextmanager
        def stage(name: str) -> Iterator[None]:
            sampler.peak = rss_bytes()
            t0 = time.perf_counter()
            yield
            stages.append({"stage": name, "seconds": round(time.perf_counter() - t0, 3),
                           "peak_rss_mib": round(max(sampler.peak, rss_bytes()) / 2**20, 1)})

        started = time.perf_counter()
        with mock_personalize():
            clients = {n: boto3.client(n, region_name=demo.REGION)
                       for n in ("personalize", "personalize-runtime", "s3", "iam")}
            result = demo.run(clients, data, stage)
        total = time.perf_counter() - started
    up = result["metrics"]["aws-user-personalization"]
    pop = result["metrics"]["aws-popularity-count"]
    key = "normalized_discounted_cumulative_gain_at_10"
    return {
        "benchmark": "workflow",
        "data": {"users": 1000, "items": 2000, "interactions": 50_000},
        "stages": stages,
        "total_seconds": round(total, 3),
        "target_total_seconds": 10,
        "ndcg_at_10": {"aws-user-personalization": up[key], "aws-popularity-count": pop[key],
                       "ratio": round(up[key] / pop[key], 3) if pop[key] else None},
        "metrics": result["metrics"],
    }
