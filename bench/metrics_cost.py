"""Measure what ``/metrics`` costs a request: the same requests with its hooks and without.

Two applications over one embedded store of the shipped data, one with the metrics hooks
(``service.metrics.start_clock`` and ``observe``) and one with them taken out, answer the
same requests through Flask's test client, in alternating rounds; the script prints the
median time per request of each and their difference. Routes: a static file (the least work
Flask does for a request) and ``/sparql`` answered from the answer cache (the cheapest query).

    python bench/metrics_cost.py --requests 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from service import create_app, dataset, metrics
from service.store import building

REQUESTS = {
    "static file": ("/static/zigraph.css", {}),
    "/sparql, cache hit": (
        "/sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D",
        {"Accept": "application/sparql-results+json"},
    ),
}


def without_metrics(app) -> None:
    """Take the metrics hooks out of ``app`` (``/metrics`` itself stays, unused)."""
    app.before_request_funcs[None].remove(metrics.start_clock)
    app.after_request_funcs[None].remove(metrics.observe)


def seconds_per_request(client, path: str, headers: dict, count: int) -> float:
    """Return the mean seconds of ``count`` GETs of ``path``."""
    started = time.perf_counter()
    for _ in range(count):
        client.get(path, headers=headers).close()
    return (time.perf_counter() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of each")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store"
        building.prepare_store(dataset.shipped_files(), store, validate=False)
        apps = {name: create_app({"STORE_DIR": str(store)}) for name in ("with", "without")}
        without_metrics(apps["without"])
        try:
            clients = {name: app.test_client() for name, app in apps.items()}
            print(f"{arguments.requests} requests × {arguments.rounds} rounds, median µs/request")
            print("| request | with metrics | without | difference |")
            print("| --- | ---: | ---: | ---: |")
            for label, (path, headers) in REQUESTS.items():
                times: dict[str, list[float]] = {"with": [], "without": []}
                for client in clients.values():  # warm up: store, cache, templates
                    seconds_per_request(client, path, headers, 50)
                for _ in range(arguments.rounds):
                    for name, client in clients.items():
                        times[name].append(
                            seconds_per_request(client, path, headers, arguments.requests)
                        )
                with_, without = (statistics.median(times[n]) * 1e6 for n in ("with", "without"))
                print(f"| {label} | {with_:.1f} | {without:.1f} | {with_ - without:+.1f} |")
        finally:
            for app in apps.values():
                backend = app.extensions.get("zigraph.store")
                if backend is not None:
                    backend.close()


if __name__ == "__main__":
    main()
