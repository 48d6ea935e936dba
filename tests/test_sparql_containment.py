"""Queries run in evaluator processes: a runaway query is killed, a crash is contained."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from service import create_app
from service.dataset import LoadedDataset, SourceFile, canonical_quads
from service.store import embedded

TIMEOUT = 2.0
GRAPH = "https://w3id.org/zigraph/graph/test/many"
# A cross product of three copies of every triple: billions of solutions, hours of work.
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
QUICK_QUERY = "ASK { ?s ?p ?o }"


@pytest.fixture(scope="module")
def many_triples_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a store of 3000 triples, enough to make a cross product run for hours."""
    graph = ox.NamedNode(GRAPH)
    quads = [
        ox.Quad(
            ox.NamedNode(f"https://w3id.org/zigraph/id/thing-{i}"),
            ox.NamedNode(f"https://w3id.org/zigraph/ontology#p{i % 7}"),
            ox.Literal(str(i), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
            graph,
        )
        for i in range(3000)
    ]
    path = tmp_path_factory.mktemp("many")
    source = SourceFile(path / "many.ttl", "graph_data", GRAPH)
    embedded.build_store(LoadedDataset([source], canonical_quads(quads)), path / "store")
    return path / "store"


@pytest.fixture
def slow_app(many_triples_store):
    app = create_app(
        {"TESTING": True, "STORE_DIR": str(many_triples_store), "QUERY_TIMEOUT": TIMEOUT}
    )
    yield app
    backend = app.extensions["zigraph.store"]
    if backend is not None:
        backend.close()


def is_running(pid: int) -> bool:
    """Return whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


class Background:
    """Send one request from another thread, keeping its response."""

    def __init__(self, app, query: str) -> None:
        self.response = None
        self.thread = threading.Thread(target=self._send, args=(app, query))
        self.thread.start()

    def _send(self, app, query: str) -> None:
        self.response = app.test_client().get("/sparql", query_string={"query": query})

    def result(self):
        self.thread.join(120)
        assert not self.thread.is_alive()
        return self.response


def busy_evaluator(app) -> int:
    """Wait until an evaluator is running a request and return its process id."""
    pool = app.extensions["zigraph.store"].client_pool
    assert wait_for(lambda: pool.busy_pids())
    return pool.busy_pids()[0]


def test_slow_query_is_stopped_and_its_evaluator_killed(slow_app):
    slow_app.test_client().get("/sparql", query_string={"query": QUICK_QUERY})  # pool started
    started = time.monotonic()
    slow = Background(slow_app, SLOW_QUERY)
    pid = busy_evaluator(slow_app)
    response = slow.result()
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "query-timeout"
    assert f"{TIMEOUT:g} s" in body["message"]
    assert response.headers["Retry-After"]
    # Stopped at the limit, not run to its end (which would take hours).
    assert elapsed < TIMEOUT + 30
    assert wait_for(lambda: not is_running(pid), 10)
    assert pid not in slow_app.extensions["zigraph.store"].pids()
    after = slow_app.test_client().get("/sparql", query_string={"query": QUICK_QUERY})
    assert after.status_code == 200


def test_quick_query_is_answered_while_a_slow_one_runs(slow_app):
    slow = Background(slow_app, SLOW_QUERY)
    busy_evaluator(slow_app)
    quick = slow_app.test_client().get("/sparql", query_string={"query": QUICK_QUERY})
    assert quick.status_code == 200
    assert quick.get_json()["boolean"] is True
    assert slow.thread.is_alive()  # the slow query was still running meanwhile
    assert slow.result().status_code == 503


@pytest.mark.parametrize("crash", [signal.SIGSEGV, signal.SIGKILL])
def test_evaluator_crash_gives_a_clean_error_and_a_fresh_evaluator(slow_app, crash):
    slow = Background(slow_app, SLOW_QUERY)
    pid = busy_evaluator(slow_app)
    os.kill(pid, crash)
    response = slow.result()
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == "evaluator-crashed"
    assert crash.name in body["message"]
    after = slow_app.test_client().get("/sparql", query_string={"query": QUICK_QUERY})
    assert after.status_code == 200
    assert pid not in slow_app.extensions["zigraph.store"].pids()


def test_internal_queries_share_the_time_limit(slow_app):
    from service.errors import QueryTimeout
    from service.store import get_store

    with slow_app.app_context():
        with pytest.raises(QueryTimeout):
            get_store().query(SLOW_QUERY)
        assert get_store().query(QUICK_QUERY).boolean is True


# Nine million groups, held in memory before the first answer row.
HUNGRY_QUERY = "SELECT ?a ?c (COUNT(*) AS ?n) WHERE { ?a ?x ?b . ?c ?y ?d } GROUP BY ?a ?c"


def test_query_needing_too_much_memory_ends_only_its_evaluator(many_triples_store):
    app = create_app(
        {
            "TESTING": True,
            "STORE_DIR": str(many_triples_store),
            "QUERY_TIMEOUT": 120.0,
            "EVALUATOR_MEMORY_MB": 200,
        }
    )
    try:
        client = app.test_client()
        response = client.get("/sparql", query_string={"query": HUNGRY_QUERY})
        assert response.status_code == 500
        body = response.get_json()
        assert body["error"] == "evaluator-crashed"
        assert client.get("/sparql", query_string={"query": QUICK_QUERY}).status_code == 200
    finally:
        app.extensions["zigraph.store"].close()
