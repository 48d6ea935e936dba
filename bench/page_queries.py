"""The queries of one entity page of each kind, first visit and again, over a built store.

For target 3 of issue 17 (entity pages at a million triples): which page kinds cost most and
which of their queries, in process (Flask's test client), the page cache off so that each
visit renders. Each query's time includes the hop to a service evaluator.

    python bench/page_queries.py --store /path/to/store
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ZI = "https://w3id.org/zigraph/ontology#"
ID = "https://w3id.org/zigraph/id/"
KINDS = (
    "Dinas", "RegionalAgency", "Kecamatan", "DesignationConferral", "SelectionPipeline",
    "SelectionStage", "City", "LocalGovernment", "Passage",
)  # fmt: skip


def page_paths(store_path: Path) -> list[str]:
    """Return the page of the middle entity of each kind (of its first 500)."""
    import pyoxigraph as ox

    store = ox.Store.read_only(str(store_path))
    paths = []
    for kind in KINDS:
        query = f"SELECT ?s WHERE {{ ?s a <{ZI}{kind}> }} LIMIT 500"
        found = list(store.query(query, use_default_graph_as_union=True))
        if found:
            paths.append(found[len(found) // 2]["s"].value.replace(ID, "/doc/"))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a built zigraph store")
    parser.add_argument("--slowest", type=int, default=4, help="queries shown a page")
    args = parser.parse_args()
    from service import create_app
    from service.store import get_store

    paths = page_paths(args.store)
    app = create_app({"STORE_DIR": str(args.store), "PAGE_CACHE_MB": 0})
    client = app.test_client()
    client.get("/healthz")  # opens the store, starts the evaluators
    sent: list[tuple[float, str]] = []
    with app.app_context():
        store = get_store()
        query = store.query

        def timed(text, *arguments, **options):
            started = time.perf_counter()
            try:
                return query(text, *arguments, **options)
            finally:
                shown = " ".join(str(getattr(text, "text", text)).split())[:110]
                sent.append((time.perf_counter() - started, shown))

        store.query = timed  # type: ignore[method-assign]
    for path in paths:
        timings = []
        for _ in range(2):
            sent.clear()
            started = time.perf_counter()
            answer = client.get(path, headers={"Accept": "text/html"})
            timings.append((time.perf_counter() - started, list(sent)))
        (first, queries), (again, _) = timings
        in_queries = sum(seconds for seconds, _ in queries)
        print(
            f"{path}: {answer.status_code}, first {first * 1000:.0f} ms ({len(queries)} queries, "
            f"{in_queries * 1000:.0f} ms), again {again * 1000:.0f} ms"
        )
        for seconds, text in sorted(queries, reverse=True)[: args.slowest]:
            print(f"   {seconds * 1000:6.1f} ms  {text}")


if __name__ == "__main__":
    main()
