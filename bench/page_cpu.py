"""The CPU one entity page costs, in the web process and in the evaluators, over a built store.

For target 3 of issue 17 (entity pages at a million triples): eight pages at once on two
cores are bound by the CPU each page takes, wherever it is spent. This renders pages of
seven kinds in process (Flask's test client, the page cache off, so that each renders), one
after another, and reads the CPU time of this process and of its evaluator processes
(/proc) before and after, with the number of calls each page makes to the evaluators.

    python bench/page_cpu.py --store /path/to/store [--pages 60] [--profile]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ZI = "https://w3id.org/zigraph/ontology#"
ID = "https://w3id.org/zigraph/id/"
KINDS = (
    "Dinas", "DesignationConferral", "SelectionPipeline", "SelectionStage", "City",
    "LocalGovernment", "Passage",
)  # fmt: skip
WARM_UP = 20  # pages rendered first, uncounted


def cpu_seconds(pid: int) -> float:
    """Return the user and system CPU time a process has taken."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def page_paths(store_path: Path, per_kind: int) -> list[str]:
    """Return the pages of the first ``per_kind`` entities of each kind."""
    import pyoxigraph as ox

    store = ox.Store.read_only(str(store_path))
    paths = []
    for kind in KINDS:
        query = f"SELECT ?s WHERE {{ ?s a <{ZI}{kind}> }} LIMIT {per_kind}"
        for row in store.query(query, use_default_graph_as_union=True):
            paths.append(row["s"].value.replace(ID, "/doc/"))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a built zigraph store")
    parser.add_argument("--pages", type=int, default=60, help="pages of each kind")
    parser.add_argument("--profile", action="store_true", help="cProfile the web process too")
    args = parser.parse_args()
    from service import create_app
    from service.store import get_store

    paths = page_paths(args.store, args.pages)
    app = create_app({"STORE_DIR": str(args.store), "PAGE_CACHE_MB": 0, "SHARED_PAGES": False})
    client = app.test_client()
    client.get("/healthz")  # opens the store, starts the evaluators
    calls = 0
    with app.app_context():
        backend = get_store()
        evaluators = backend.pids()
        pool = backend.service_pool
        run = pool.run

        def counted(function, *arguments, **options):
            nonlocal calls
            calls += 1
            return run(function, *arguments, **options)

        pool.run = counted  # type: ignore[method-assign]
    html = {"Accept": "text/html"}
    for path in paths[:WARM_UP]:
        client.get(path, headers=html)
    paths = paths[WARM_UP:]
    profile = None
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    calls = 0
    theirs = sum(map(cpu_seconds, evaluators))
    ours = sum(os.times()[:2])
    started = time.perf_counter()
    for path in paths:
        status = client.get(path, headers=html).status_code
        if status != 200:
            raise SystemExit(f"{path}: {status}")
    wall = time.perf_counter() - started
    ours = sum(os.times()[:2]) - ours
    theirs = sum(map(cpu_seconds, evaluators)) - theirs
    n = len(paths)
    print(
        f"{n} pages, one at a time: {wall / n * 1000:.2f} ms a page; CPU a page: web process "
        f"{ours / n * 1000:.2f} ms, evaluators {theirs / n * 1000:.2f} ms; "
        f"{calls / n:.1f} calls to the evaluators a page"
    )
    if profile is not None:
        import pstats

        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
