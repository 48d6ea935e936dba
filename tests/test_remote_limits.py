"""A remote store's limits: clients' queries are admitted as the embedded store admits them,
the store is asked whether it can reach out, and failures never name the store's address."""

from __future__ import annotations

import contextlib
import fcntl
import http.server
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from service import create_app
from service.cli import cli
from service.errors import BackendUnavailable
from service.store.outbound_probe import outbound_ways
from service.store.remote import RemoteBackend
from tests.processes import wait_for
from tests.stores import free_port, oxigraph_binary, wait_for_port

HTML = {"Accept": "text/html"}
# A cross product of three copies of every triple: runs until the store's own time limit.
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
QUICK_QUERY = "ASK { ?s ?p ?o }"
ENTITY_PAGE = "/doc/stage/kota-pekalongan-2020-2-dinilai-tingkat-nasional"
ALLOW = "ZIGRAPH_ALLOW_NETWORKED_STORE"
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1  # from <linux/sockios.h>, <net/if.h>


def remote_app(endpoint: str, **config):
    """Yield an application over a remote endpoint and close its backend afterwards."""
    app = create_app({"TESTING": True, "ENDPOINT": endpoint, **config})
    yield app
    backend = app.extensions.get("zigraph.store")
    if backend is not None:
        backend.close()


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


# --- what a client is told when the store fails -----------------------------------------------


def test_store_errors_name_neither_the_store_address_nor_the_query(virtuoso_server, caplog):
    """Guard: Virtuoso's errors echo the query sent; a 502 gives the store's reason only."""
    marker = "zigraph-marker-5d1c"
    # A constant bad pattern: the store fails on it whatever its plan (a pattern over the
    # data's values was only evaluated when some value matched first).
    query = f'SELECT ?x WHERE {{ BIND(REGEX("{marker}", "(") AS ?x) }}'
    for app in remote_app(virtuoso_server.endpoint):
        response = app.test_client().get("/sparql", query_string={"query": query})
        assert response.status_code == 502
        body = response.get_data(as_text=True)
        assert "regexp error" in response.get_json()["message"]  # the store's own words
        assert "the SPARQL store" in response.get_json()["message"]
        assert marker not in body
        assert virtuoso_server.base not in body
        assert str(virtuoso_server.port) not in body
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert virtuoso_server.endpoint in logged and marker in logged  # the operator sees both


def test_an_unreachable_store_is_not_named_to_clients(tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}/sparql"
    for app in remote_app(endpoint):
        response = app.test_client().get("/sparql", query_string={"query": QUICK_QUERY})
        assert response.status_code == 503
        assert endpoint.split("/sparql")[0] not in response.get_data(as_text=True)
        health = app.test_client().get("/healthz")
        assert health.status_code == 503
        assert endpoint.split("/sparql")[0] not in health.get_data(as_text=True)


class Redirecting(http.server.BaseHTTPRequestHandler):
    """A SPARQL endpoint that has moved: every POST is answered 301 to another address."""

    posts = 0

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        type(self).posts += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(301)
        self.send_header("Location", "https://elsewhere.example/sparql")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *arguments) -> None:
        pass


def test_a_store_that_redirects_is_reported_not_followed():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    backend = RemoteBackend(f"http://127.0.0.1:{server.server_address[1]}/sparql")
    try:
        with pytest.raises(BackendUnavailable, match="redirects elsewhere"):
            backend.query(QUICK_QUERY)
        assert Redirecting.posts == 1  # the query was not sent again, nor to the other address
    finally:
        backend.close()
        server.shutdown()
        server.server_close()


def test_an_answer_cut_short_leaves_the_next_query_whole(oxigraph_server):
    """An answer read only up to a size closes its connection; the next query gets a new one."""
    backend = RemoteBackend(oxigraph_server.endpoint)
    try:
        big = "SELECT ?n WHERE { VALUES ?n { " + " ".join(map(str, range(5000))) + " } }"
        cut = backend._post(big, "application/sparql-results+json", 10.0, max_bytes=1000)
        assert cut.cut and len(cut.body) < 5000 * 20
        for _ in range(3):
            whole = backend._post(big, "application/sparql-results+json", 10.0)
            assert not whole.cut and whole.body.count(b'"value"') == 5000
    finally:
        backend.close()


# --- whether the store can reach out -------------------------------------------------------------


def test_probe_sees_virtuoso_fetch_a_url_through_bif_http_get(virtuoso_server):
    """Guard: Virtuoso 7.2 lets its anonymous SPARQL user call bif:http_get; no grant stops it."""
    backend = RemoteBackend(virtuoso_server.endpoint)
    try:
        assert "bif:http_get" in outbound_ways(backend)
    finally:
        backend.close()


def test_probe_sees_the_oxigraph_server_fetch_a_url_through_service(oxigraph_server):
    backend = RemoteBackend(oxigraph_server.endpoint)
    try:
        assert outbound_ways(backend) == ["SERVICE"]
    finally:
        backend.close()


def test_serve_refuses_a_store_that_fetches_urls(virtuoso_server):
    result = CliRunner().invoke(
        cli, ["serve", "--endpoint", virtuoso_server.endpoint], env={ALLOW: None}
    )
    assert result.exit_code == 2, result.output
    assert "fetched a URL of zigraph's when asked to (bif:http_get" in result.output
    assert ALLOW in result.output


def test_serve_refuses_a_store_it_cannot_ask():
    endpoint = f"http://127.0.0.1:{free_port()}/query"
    result = CliRunner().invoke(cli, ["serve", "--endpoint", endpoint], env={ALLOW: None})
    assert result.exit_code == 2, result.output
    assert "cannot tell whether the store can make requests of its own" in result.output


def serve_in_empty_network(socket_path: str, store_port: int) -> None:
    """Run ``oxigraph serve`` here, in an empty network namespace, reached by a Unix socket.

    The network namespace has a loopback of its own and nothing else: the store can reach
    itself, and nothing outside, zigraph's listener included.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # bring the loopback up
        ifreq = fcntl.ioctl(sock, SIOCGIFFLAGS, struct.pack("16sh14x", b"lo", 0))
        flags = struct.unpack("16sh14x", ifreq)[1] | IFF_UP
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh14x", b"lo", flags))
    command = [oxigraph_binary(), "serve", "--bind", f"127.0.0.1:{store_port}"]
    store = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(store_port, store, "oxigraph serve")
    Relay(
        socket_path, lambda: socket.create_connection(("127.0.0.1", store_port)), socket.AF_UNIX
    ).serve()


def pipe(source: socket.socket, target: socket.socket) -> None:
    """Copy bytes from ``source`` to ``target`` until ``source`` ends."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


class Relay:
    """Accept connections at an address and pipe each to a new connection from ``connect()``."""

    def __init__(self, address, connect, family: int = socket.AF_INET) -> None:
        self.server = socket.socket(family, socket.SOCK_STREAM)
        self.server.bind(address)
        self.server.listen(16)
        self.connect = connect

    def serve(self) -> None:
        while True:
            try:
                accepted, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._carry, args=(accepted,), daemon=True).start()

    def _carry(self, accepted: socket.socket) -> None:
        with accepted, self.connect() as upstream:
            back = threading.Thread(target=pipe, args=(upstream, accepted))
            back.start()
            pipe(accepted, upstream)
            back.join()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept() of serve()
        self.server.close()


@pytest.fixture
def oxigraph_without_network(tmp_path):
    """Run the Oxigraph server in a network namespace of its own; yield a local endpoint URL."""
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
        pytest.skip("this kernel does not let an unprivileged user make a network namespace")
    socket_path = str(tmp_path / "oxigraph.sock")
    inside = (
        "from tests.test_remote_limits import serve_in_empty_network; "
        f"serve_in_empty_network({socket_path!r}, 7878)"
    )
    process = subprocess.Popen(
        ["unshare", "-rn", sys.executable, "-c", inside],
        cwd=Path(__file__).resolve().parent.parent,
        start_new_session=True,  # the store runs in the same group: stopped with it
    )
    try:
        assert wait_for(lambda: Path(socket_path).exists() or process.poll() is not None, 60)
        port = free_port()

        def through_the_socket() -> socket.socket:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(socket_path)
            return sock

        relay = Relay(("127.0.0.1", port), through_the_socket)
        threading.Thread(target=relay.serve, daemon=True).start()
        try:
            wait_for_port(port, process, "the relay to the store")
            yield f"http://127.0.0.1:{port}/query"
        finally:
            relay.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def test_probe_passes_a_store_without_network(oxigraph_without_network):
    backend = RemoteBackend(oxigraph_without_network)
    try:
        assert backend.probe("ASK {}").body  # the store answers through the relays
        assert outbound_ways(backend) == []
    finally:
        backend.close()


def test_a_long_query_is_read_in_a_reader_process_before_the_store_sees_it(oxigraph_server):
    """Bodies over the inline size are parsed apart, then refused or sent as canonical text."""
    padding = "# " + "x" * 20_000 + "\n"  # a comment: past the inline size, nothing the store reads
    json = {"Accept": "application/sparql-results+json"}
    for app in remote_app(oxigraph_server.endpoint):
        client = app.test_client()
        answered = client.post("/sparql", data={"query": padding + QUICK_QUERY}, headers=json)
        assert answered.status_code == 200 and answered.get_json()["boolean"] is True
        refused = client.post(
            "/sparql",
            data={"query": padding + "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> {} }"},
            headers=json,
        )
        assert refused.status_code == 400 and refused.get_json()["reason"] == "service"
        assert app.extensions["zigraph.store"].reading_pool().pids()  # parsed in a reader
