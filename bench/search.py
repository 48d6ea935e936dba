"""Measure /search at scale: building its index, opening it, and answering, against rapidfuzz.

Builds an embedded store of a generated dataset (as `zigraph serve --data` does: statistics
and the search index are made by the build), then times, in this process:

- reading the texts to index (labels and passages, one SPARQL query) and indexing them with
  tantivy and the Sastrawi stemmer (``service/search.py``), and the stemmer's share of it;
- opening the saved index, and its first query (which loads the stemmer's dictionary);
- each query of QUERIES on the index, and the same with rapidfuzz alone (``process.extract``
  over every text, the other way to tolerate typos without an index);
- the /search page through Flask's test client: the first visit, then repeated visits.

    python bench/generate.py --scale 1M
    python bench/search.py --data bench/data/zi-1M-seed42/dataset.nq --out bench/results/search.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import rapidfuzz
import tantivy
from rapidfuzz import fuzz, process

BENCH = Path(__file__).resolve().parent
if str(BENCH.parent) not in sys.path:
    sys.path.insert(0, str(BENCH.parent))

from service import create_app, dataset, search  # noqa: E402
from service.store import building  # noqa: E402

QUERIES = [
    "perpustakan",
    "dinarpos",
    "dpmtsp",
    "koruosi",
    "Wilayah Bebas Korupsi",
    "KKN",
    "21 desember",
    "prima",
    "wbk",
    "batukencana barat",  # a generated city's name
    "batukencna",  # the same, mistyped
    "kota",  # in most labels: the most texts to rank
    "dinas kota pemerintah kabupaten badan",  # five frequent words at once
    "x" * 200,  # the longest query the page reads
]
REPEATS = 20
FUZZ_QUERIES = ["dinarpos", "Wilayah Bebas Korupsi", "kota"]
HTML = {"Accept": "text/html"}


def ms(seconds: float) -> str:
    """Return seconds as milliseconds for the table."""
    return f"{seconds * 1000:.1f}"


def timed(call, repeats: int = 1) -> tuple[float, float, object]:
    """Return the median and the slowest seconds of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times), result


def folder_size(folder: Path) -> int:
    """Return the bytes of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=BENCH / "data/zi-1M-seed42/dataset.nq")
    parser.add_argument("--store", type=Path, help="a store folder to build (or reuse)")
    parser.add_argument("--out", type=Path, help="write the results here as Markdown")
    arguments = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="zigraph-search-bench-"))
    store_dir = arguments.store or scratch / "store"
    lines = [
        f"# /search over {arguments.data.name} ({arguments.data.parent.name})",
        "",
        f"`python bench/search.py --data {arguments.data}`, {time.strftime('%Y-%m-%d')}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{getattr(tantivy, '__version__', 'tantivy')}, "
        f"rapidfuzz {rapidfuzz.__version__}, pyoxigraph {ox.__version__}.",
        "",
    ]
    try:
        files = dataset.selected_files(data=[arguments.data])
        started = time.perf_counter()
        metadata = building.prepare_store(files, store_dir, validate=False, say=print)[1]
        took = time.perf_counter() - started
        print(f"store ready in {took:.1f} s: {metadata['triples']} triples")

        store = ox.Store.read_only(str(store_dir))
        read, _, entries = timed(
            lambda: search.entries_of(
                [s[v] for v in ("node", "text", "kind")]
                for s in store.query(search.ENTRIES_QUERY, use_default_graph_as_union=True)
            )
        )
        labels = sum(1 for e in entries if e[2] == search.LABEL)
        vocabulary = {w for _, text, _ in entries for w in search.words(text)}
        search.stem.cache_clear()
        stemming, _, _ = timed(lambda: [search.stem(w) for w in vocabulary])
        folder = scratch / "index"
        built, _, _ = timed(lambda: search.build(entries, folder))
        opened, _, index = timed(lambda: search.open_index(folder))
        assert isinstance(index, search.SearchIndex)
        search._stemmer.cache_clear()
        first, _, _ = timed(lambda: index.search("perpustakan"))
        lines += [
            "## The index (tantivy, words and Sastrawi stems)",
            "",
            "| step | figure |",
            "| --- | ---: |",
            f"| triples in the store | {metadata['triples']:,} |",
            "| building the store: loading, then statistics and this index "
            f"| {metadata.get('load_seconds')} s, {metadata.get('statistics_seconds')} s |",
            f"| texts indexed: labels, passages | {labels:,}, {len(entries) - labels:,} |",
            f"| distinct words | {len(vocabulary):,} |",
            f"| reading the texts (ENTRIES_QUERY, in process) | {read:.2f} s |",
            f"| indexing them, saved to disk | {built:.2f} s |",
            f"| of which stemming every distinct word (Sastrawi) | {stemming:.2f} s |",
            f"| index on disk | {folder_size(folder) / 2**20:.1f} MiB |",
            f"| opening the saved index | {ms(opened)} ms |",
            f"| first query after opening (loads the stemmer) | {ms(first)} ms |",
            "",
            "## Queries (milliseconds, median and slowest of "
            f"{REPEATS}; rapidfuzz alone: median of 3)",
            "",
            "| query | nodes found | index, median | index, slowest | rapidfuzz alone |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        texts = [search.fold(text) for _, text, _ in entries]
        for query in QUERIES:
            median, slowest, found = timed(lambda q=query: index.search(q), REPEATS)
            alone = "–"
            if query in FUZZ_QUERIES:
                alone = ms(
                    timed(
                        lambda q=query: process.extract(
                            search.fold(q), texts, scorer=fuzz.WRatio, limit=25
                        ),
                        3,
                    )[0]
                )
            shown = query if len(query) <= 40 else f"{query[:8]}… ({len(query)} characters)"
            count = len(found.matches)  # type: ignore[attr-defined]
            more = "+" if found.more else ""  # type: ignore[attr-defined]
            lines.append(f"| {shown} | {count}{more} | {ms(median)} | {ms(slowest)} | {alone} |")

        app = create_app({"STORE_DIR": str(store_dir)})
        client = app.test_client()
        client.get("/healthz")  # a server starts the evaluators before its first request
        page = "/search?q=" + quote("dinarpos")
        first_visit, _, response = timed(lambda: client.get(page, headers=HTML))
        assert response.status_code == 200  # type: ignore[attr-defined]
        lines += [
            "",
            "## The /search page (Flask test client, embedded store, index saved by the build)",
            "",
            "| visit | median | slowest |",
            "| --- | ---: | ---: |",
            f"| first search of the process (opens the index) | {ms(first_visit)} ms | |",
        ]
        for query in ("dinarpos", "kota", "21 desember"):
            path = "/search?q=" + quote(query)
            median, slowest, _ = timed(lambda p=path: client.get(p, headers=HTML), REPEATS)
            lines.append(f"| {query}, visited again | {ms(median)} ms | {ms(slowest)} ms |")
        get_store = app.extensions.get("zigraph.store")
        if get_store is not None:
            get_store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    lines += [
        "",
        "Load average (1, 5, 15 min) when done: "
        + ", ".join(f"{load:.1f}" for load in os.getloadavg())
        + f" on {os.cpu_count()} cores; other work shared the machine.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if arguments.out:
        arguments.out.write_text(text)


if __name__ == "__main__":
    main()
