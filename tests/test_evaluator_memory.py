"""Idle evaluators give back what the store's caches grew to in them, but the one used last."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from service.store import evaluator_isolation
from service.store.embedded import run_query
from service.store.evaluator import RECYCLE_GROWTH_KIB, EvaluatorPool
from tests.processes import wait_for

EX = "http://example.org/"
# Reads every literal of the store: the storage engine's caches grow by about 50 MiB in the
# evaluator that runs it (by hand: 37 → 89 MiB of its own memory).
SCAN = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o FILTER(STRLEN(?o) > 3) } }"
IDLE_SECONDS = 0.5


@pytest.fixture(scope="module")
def large_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 150,000 quads with long literals (45 MB on disk)."""
    path = tmp_path_factory.mktemp("large") / "store"
    store = ox.Store(str(path))
    store.bulk_extend(
        ox.Quad(
            ox.NamedNode(f"{EX}s{i}"),
            ox.NamedNode(f"{EX}p{i % 7}"),
            ox.Literal(f"text {i} " + "x" * 200),
            ox.NamedNode(f"{EX}g{i % 3}"),
        )
        for i in range(150_000)
    )
    store.optimize()
    del store
    return path


@pytest.fixture
def pool(large_store):
    pool = EvaluatorPool(
        large_store, size=3, isolation=evaluator_isolation(), idle_seconds=IDLE_SECONDS
    )
    pool.start()
    yield pool
    pool.close()


def run_at_once(pool: EvaluatorPool, queries: list[str]) -> None:
    """Run the queries side by side, each in an evaluator of its own."""
    started = threading.Barrier(len(queries))

    def ask(sparql: str) -> None:
        started.wait()
        pool.run(run_query, time.monotonic() + 60, sparql=sparql)

    threads = [threading.Thread(target=ask, args=(sparql,)) for sparql in queries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_an_idle_evaluator_whose_caches_grew_is_replaced_but_the_one_used_last(pool):
    run_at_once(pool, [SCAN, SCAN])
    used = [e for e in pool._idle if e.ready]
    grown = [e for e in used if e.own_kib() - e.started_kib > RECYCLE_GROWTH_KIB]
    assert len(grown) == 2  # the scan grew both
    last = pool._idle[-1]
    assert last in grown
    (other,) = [e for e in grown if e is not last]

    assert wait_for(lambda: pool.recycled == 1, 10)
    assert other.pid not in pool.pids() and not other.process.is_alive()  # killed and reaped
    assert last.pid in pool.pids() and pool._idle[-1] is last  # kept, and taken next
    assert len(pool.pids()) == 3
    time.sleep(3 * IDLE_SECONDS)
    assert pool.recycled == 1  # the one used last stays, however long it idles
    # The replacement holds what a fresh evaluator does: the grown caches went with the other.
    replacement = pool._idle[0]
    replacement.wait_ready()
    assert replacement.own_kib() < last.own_kib() - RECYCLE_GROWTH_KIB
    assert pool.run(run_query, time.monotonic() + 60, sparql=SCAN).rows  # the pool answers


def test_an_idle_evaluator_that_did_not_grow_is_kept(pool):
    ask = "ASK { ?s ?p ?o }"
    run_at_once(pool, [ask, ask, ask])
    time.sleep(4 * IDLE_SECONDS)
    assert pool.recycled == 0
    assert len(pool.pids()) == 3


def test_no_evaluator_is_replaced_when_idling_is_not_bounded(large_store):
    pool = EvaluatorPool(large_store, size=2, isolation=evaluator_isolation(), idle_seconds=0)
    pool.start()
    try:
        run_at_once(pool, [SCAN, SCAN])
        before = sorted(pool.pids())
        time.sleep(1.0)
        assert pool.recycled == 0 and sorted(pool.pids()) == before
        assert all(os.path.exists(f"/proc/{pid}") for pid in before)
    finally:
        pool.close()
