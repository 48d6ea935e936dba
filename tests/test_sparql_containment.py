"""Queries run in evaluator processes: a runaway query is killed, a crash is contained."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from service import create_app, dataset
from service.store import building, embedded
from tests.processes import is_running, wait_for

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
    (path / "data").mkdir()
    ox.serialize(quads, str(path / "data" / "many.nq"), format=ox.RdfFormat.N_QUADS)
    building.build_store(dataset.selected_files([path / "data"]), path / "store")
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
    assert wait_for(lambda: app.extensions["zigraph.store"] is not None)
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
            # Above what an evaluator needs to open the store (about 220 MB of address space
            # with mimalloc preloaded, docs/configuration.md#memory).
            "EVALUATOR_MEMORY_MB": 300,
        }
    )
    try:
        client = app.test_client()
        response = client.get("/sparql", query_string={"query": HUNGRY_QUERY})
        assert response.status_code == 500
        body = response.get_json()
        assert body["error"] == "engine-failed"  # the engine aborted: the query is remembered
        assert client.get("/sparql", query_string={"query": QUICK_QUERY}).status_code == 200
    finally:
        app.extensions["zigraph.store"].close()


def test_evaluator_ends_itself_at_its_deadline_without_its_parent(many_triples_store):
    """Even if the web process never kills it, an evaluator's own alarm stops the query."""
    from service.store.evaluator import ALARM_GRACE, Evaluator, EvaluatorPool

    pool = EvaluatorPool(many_triples_store, size=1)
    evaluator = Evaluator(pool)
    try:
        evaluator.wait_ready()
        started = time.monotonic()
        evaluator.connection.send((embedded.run_query, {"sparql": SLOW_QUERY}, 1.0))
        evaluator.process.join(30)  # nobody reads the answer or kills the process
        assert evaluator.process.exitcode == -signal.SIGALRM
        assert time.monotonic() - started < 1.0 + ALARM_GRACE + 5
    finally:
        evaluator.kill()
        pool.close()


ORPHAN_SCRIPT = """
import sys, threading, time
from service import create_app
app = create_app({"TESTING": True, "STORE_DIR": sys.argv[1], "QUERY_TIMEOUT": 600})
client = app.test_client()
query = {"query_string": {"query": sys.argv[2]}}
threading.Thread(target=client.get, args=("/sparql",), kwargs=query, daemon=True).start()
while True:
    backend = app.extensions.get("zigraph.store")
    if backend is not None and backend.client_pool.busy_pids():
        print(backend.client_pool.busy_pids()[0], flush=True)
        break
    time.sleep(0.05)
time.sleep(600)
"""


def test_evaluators_die_with_their_web_process(many_triples_store):
    """A web process killed with SIGKILL leaves no evaluator running its query."""
    import subprocess
    import sys

    web = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT, str(many_triples_store), SLOW_QUERY],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pid = int(web.stdout.readline())
        assert is_running(pid)
        web.kill()
        web.wait(10)
        assert wait_for(lambda: not is_running(pid), 30), "the evaluator outlived its parent"
    finally:
        if web.poll() is None:
            web.kill()
        web.stdout.close()


@pytest.fixture
def one_evaluator_app(many_triples_store):
    app = create_app(
        {
            "TESTING": True,
            "STORE_DIR": str(many_triples_store),
            "QUERY_TIMEOUT": 20.0,
            "EVALUATORS": 1,
            "QUERIES_PER_CLIENT": 3,
        }
    )
    yield app
    if app.extensions["zigraph.store"] is not None:
        app.extensions["zigraph.store"].close()


def backend_of(app):
    """Return the application's backend, opening it if no request has yet."""
    from service.store import get_store

    with app.app_context():
        return get_store()


def test_pages_and_health_do_not_wait_behind_clients_queries(one_evaluator_app):
    slow = [Background(one_evaluator_app, SLOW_QUERY) for _ in range(3)]
    busy_evaluator(one_evaluator_app)
    client = one_evaluator_app.test_client()
    started = time.monotonic()
    assert client.get("/healthz").status_code == 200
    assert client.get("/browse").status_code == 200
    assert time.monotonic() - started < 10  # not behind the 20 s of the clients' queries
    backend = one_evaluator_app.extensions["zigraph.store"]
    for pid in backend.client_pool.pids():
        os.kill(pid, signal.SIGKILL)
    for background in slow:
        background.result()


def test_a_full_client_queue_is_refused_at_once_with_retry_after(one_evaluator_app):
    # One evaluator and two places in its queue: the fourth query is refused without waiting.
    slow = [Background(one_evaluator_app, SLOW_QUERY) for _ in range(3)]
    busy_evaluator(one_evaluator_app)
    backend = one_evaluator_app.extensions["zigraph.store"]
    assert wait_for(lambda: backend.client_pool.admission.admitted == 3)
    started = time.monotonic()
    refused = one_evaluator_app.test_client().get(
        "/sparql", query_string={"query": QUICK_QUERY}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert time.monotonic() - started < 2
    assert refused.status_code == 503
    assert refused.get_json()["error"] == "busy"
    assert refused.headers["Retry-After"]
    for pid in backend.client_pool.pids():
        os.kill(pid, signal.SIGKILL)
    for background in slow:
        background.result()


def test_one_address_gets_a_429_past_its_share(one_evaluator_app):
    backend = backend_of(one_evaluator_app)
    backend.client_pool.admission.per_client = 1
    slow = Background(one_evaluator_app, SLOW_QUERY)
    busy_evaluator(one_evaluator_app)
    refused = one_evaluator_app.test_client().get("/sparql", query_string={"query": QUICK_QUERY})
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "too-many-queries"
    assert refused.headers["Retry-After"]
    other = one_evaluator_app.test_client().get(
        "/sparql", query_string={"query": QUICK_QUERY}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert other.status_code != 429
    for pid in backend.client_pool.pids():
        os.kill(pid, signal.SIGKILL)
    slow.result()


def test_clients_evaluators_run_at_a_lower_priority(one_evaluator_app):
    slow = Background(one_evaluator_app, SLOW_QUERY)
    pid = busy_evaluator(one_evaluator_app)
    lowered = os.getpriority(os.PRIO_PROCESS, 0) + 10
    # The pool counts an evaluator busy from its start; it lowers its priority as it boots.
    assert wait_for(lambda: os.getpriority(os.PRIO_PROCESS, pid) == lowered, 10)
    backend = one_evaluator_app.extensions["zigraph.store"]
    assert one_evaluator_app.test_client().get("/healthz").status_code == 200
    assert backend.service_pool.pids()
    for service_pid in backend.service_pool.pids():
        assert os.getpriority(os.PRIO_PROCESS, service_pid) == os.getpriority(os.PRIO_PROCESS, 0)
    os.kill(pid, signal.SIGKILL)
    slow.result()
