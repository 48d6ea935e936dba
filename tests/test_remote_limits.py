"""A remote store's limits: clients' queries are admitted as the embedded store admits them,
the store is asked whether it can reach out, and failures never name the store's address."""

from __future__ import annotations

import threading
import time

import pytest

from service import create_app

HTML = {"Accept": "text/html"}
# A cross product of three copies of every triple: runs until the store's own time limit.
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
QUICK_QUERY = "ASK { ?s ?p ?o }"
ENTITY_PAGE = "/doc/stage/kota-pekalongan-2020-2-dinilai-tingkat-nasional"


def remote_app(endpoint: str, **config):
    """Yield an application over a remote endpoint and close its backend afterwards."""
    app = create_app({"TESTING": True, "ENDPOINT": endpoint, **config})
    yield app
    backend = app.extensions.get("zigraph.store")
    if backend is not None:
        backend.close()


def wait_for(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


class Background:
    """Send one query from another thread and address, keeping its response."""

    def __init__(self, app, query: str, address: str) -> None:
        self.response = None
        self.thread = threading.Thread(target=self._send, args=(app, query, address))
        self.thread.start()

    def _send(self, app, query: str, address: str) -> None:
        self.response = app.test_client().get(
            "/sparql", query_string={"query": query}, environ_base={"REMOTE_ADDR": address}
        )

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def result(self):
        self.thread.join(120)
        assert not self.thread.is_alive()
        return self.response


def admitted(app, count: int) -> bool:
    """Wait until ``count`` clients' queries are running or waiting at the remote store."""
    assert wait_for(lambda: app.extensions.get("zigraph.store") is not None)
    lane = app.extensions["zigraph.store"].client_lane
    return wait_for(lambda: lane.admitted == count)


@pytest.fixture
def one_lane_app(oxigraph_server):
    """Return an application over the Oxigraph server with one place for clients' queries."""
    yield from remote_app(
        oxigraph_server.endpoint, QUERY_TIMEOUT=6.0, EVALUATORS=1, QUERIES_PER_CLIENT=1
    )


def test_one_address_gets_a_429_past_its_share_at_a_remote_store(one_lane_app):
    client = one_lane_app.test_client()
    slow = Background(one_lane_app, SLOW_QUERY, "10.0.0.1")
    assert admitted(one_lane_app, 1)
    refused = client.get(
        "/sparql", query_string={"query": QUICK_QUERY}, environ_base={"REMOTE_ADDR": "10.0.0.1"}
    )
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "too-many-queries"
    assert refused.headers["Retry-After"]
    # With the clients' lane full, the service's own queries still go to the store at once.
    assert client.get("/healthz").status_code == 200
    assert client.get(ENTITY_PAGE, headers=HTML).status_code == 200
    assert slow.running, "the pages waited until the client's slow query ended"
    assert slow.result().get_json()["error"] == "query-timeout"


def test_a_full_client_queue_at_a_remote_store_is_refused_at_once(one_lane_app):
    # One place and two in its queue: the fourth query, from a fourth address, is refused.
    slow = [Background(one_lane_app, SLOW_QUERY, f"10.0.1.{i}") for i in range(3)]
    assert admitted(one_lane_app, 3)
    refused = one_lane_app.test_client().get(
        "/sparql", query_string={"query": QUICK_QUERY}, environ_base={"REMOTE_ADDR": "10.0.1.9"}
    )
    assert refused.status_code == 503
    assert refused.get_json()["error"] == "busy"
    assert refused.headers["Retry-After"]
    assert any(background.running for background in slow)
    assert {background.result().status_code for background in slow} == {503}
