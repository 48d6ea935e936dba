"""Measure entity pages over the shipped data, with the page cache and without it.

One embedded store of the shipped data, two applications over it: one with the page cache
(``page_cache_mb`` at its default) and one without (0, as before the cache). Through Flask's
test client, the script times first visits (every entity page once) and repeated visits of
one page (``--repeats`` times), and revalidations with ``If-None-Match``; it prints the
median and the 99th percentile of each, in milliseconds.

    python bench/page_cache.py --entities 200 --repeats 500
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from service import create_app, dataset
from service.namespaces import ID_BASE
from service.store import building, get_store

HTML = {"Accept": "text/html"}
REPEATED = "organisation/dpmptsp-kota-pekalongan"


def entity_paths(app, count: int) -> list[str]:
    """Return the paths of up to ``count`` entities of the store, under /doc/."""
    query = (
        f"SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), '{ID_BASE}')) }} "
        f"ORDER BY ?s LIMIT {count}"
    )
    with app.app_context():
        rows = get_store().query(query).rows
    return ["/doc/" + row[0].value[len(ID_BASE) :] for row in rows]


def timed(client, path: str, headers: dict) -> float:
    """Return the milliseconds of one GET of ``path``, checking its status."""
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code in (200, 304), (path, response.status_code)
    return elapsed


def summary(label: str, times: list[float]) -> str:
    """Return a table row: the count, median and 99th percentile of ``times``."""
    p99 = statistics.quantiles(times, n=100, method="inclusive")[98]
    return f"| {label} | {len(times)} | {statistics.median(times):.2f} | {p99:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=200, help="entity pages visited once")
    parser.add_argument("--repeats", type=int, default=500, help="visits of the repeated page")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store"
        building.prepare_store(dataset.shipped_files(), store, validate=False)
        cached = create_app({"STORE_DIR": str(store)})
        uncached = create_app({"STORE_DIR": str(store), "PAGE_CACHE_MB": 0})
        try:
            paths = entity_paths(cached, arguments.entities)
            repeated = f"/doc/{REPEATED}"
            on, off = cached.test_client(), uncached.test_client()
            for client in (on, off):  # warm up: store, evaluators, templates
                timed(client, repeated, HTML)
            rows = [
                summary("first visit, no cache (before)", [timed(off, p, HTML) for p in paths]),
                summary("first visit, cache (after)", [timed(on, p, HTML) for p in paths]),
            ]
            repeats = range(arguments.repeats)
            rows.append(
                summary("repeat, no cache (before)", [timed(off, repeated, HTML) for _ in repeats])
            )
            rows.append(
                summary("repeat, cache (after)", [timed(on, repeated, HTML) for _ in repeats])
            )
            etag = on.get(repeated, headers=HTML).headers["ETag"]
            revalidate = {**HTML, "If-None-Match": etag}
            rows.append(
                summary(
                    "If-None-Match, 304 (after)", [timed(on, repeated, revalidate) for _ in repeats]
                )
            )
            print(f"entity pages (text/html) over the shipped data, test client, ms; {repeated}")
            print("| visit | requests | median | p99 |")
            print("| --- | ---: | ---: | ---: |")
            print("\n".join(rows))
        finally:
            for app in (cached, uncached):
                backend = app.extensions.get("zigraph.store")
                if backend is not None:
                    backend.close()


if __name__ == "__main__":
    main()
