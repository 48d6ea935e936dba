"""The remote backend against a real ``oxigraph serve``, loaded with ``zigraph push``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from service import create_app, dataset
from service.cli import cli

QUERIES = [
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o }",
    "SELECT ?class (COUNT(?s) AS ?n) WHERE { ?s a ?class } GROUP BY ?class",
    "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
    "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?label "
    'FILTER(LANG(?label) = "id") } ',
    "ASK { ?s a ?class }",
    "ASK { ?s ?p <urn:nothing> }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "DESCRIBE ?s WHERE { ?s a ?class } LIMIT 3",
]


def oxigraph_binary() -> str:
    """Return the oxigraph server binary of this environment, or skip."""
    found = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(found).exists():
        pytest.skip("the oxigraph server binary is not installed (pip install oxigraph)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OxigraphServer:
    """An ``oxigraph serve`` process on a local port, over a folder that outlives restarts."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                oxigraph_binary(),
                "serve",
                "--location",
                str(self.location),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--union-default-graph",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("oxigraph serve exited") from None
                time.sleep(0.1)
        raise RuntimeError("oxigraph serve did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory):
    """Run oxigraph serve loaded with the shipped data through ``zigraph push``; always stop it."""
    server = OxigraphServer(tmp_path_factory.mktemp("oxigraph"))
    server.start()
    try:
        pushed = CliRunner().invoke(cli, ["push", "--graph-store", server.base + "/store"])
        assert pushed.exit_code == 0, pushed.output
        yield server
    finally:
        server.stop()


@pytest.fixture
def remote_client(oxigraph):
    app = create_app({"TESTING": True, "ENDPOINT": oxigraph.base + "/query"})
    return app.test_client()


def comparable(response) -> object:
    """Parse an answer into something equal for equal answers, whatever the blank node labels."""

    def term(value) -> str:
        return "_:b" if isinstance(value, ox.BlankNode) else str(value)

    if response.mimetype == "application/n-triples":
        return sorted(
            " ".join(term(t) for t in (q.subject, q.predicate, q.object))
            for q in ox.parse(response.data, format=ox.RdfFormat.N_TRIPLES)
        )
    parsed = ox.parse_query_results(response.data, format=ox.QueryResultsFormat.JSON)
    if isinstance(parsed, ox.QueryBoolean):
        return bool(parsed)
    variables = [v.value for v in parsed.variables]
    return variables, sorted(
        tuple(term(row[v]) if row[v] is not None else "" for v in variables) for row in parsed
    )


def test_push_reports_progress_per_graph(oxigraph):
    pushed = CliRunner().invoke(cli, ["push", "--graph-store", oxigraph.base + "/store"])
    assert pushed.exit_code == 0
    files = dataset.shipped_files()
    lines = [line for line in pushed.output.splitlines() if line.startswith("[")]
    assert len(lines) == len(files)
    assert f"[{len(files)}/{len(files)}]" in lines[-1]


@pytest.mark.parametrize("query", QUERIES)
def test_remote_and_embedded_answer_alike(client, remote_client, query):
    graph_query = query.startswith(("CONSTRUCT", "DESCRIBE"))
    parameters = {"query": query, "format": "nt" if graph_query else "json"}
    embedded = client.get("/sparql", query_string=parameters)
    remote = remote_client.get("/sparql", query_string=parameters)
    assert embedded.status_code == remote.status_code == 200
    assert comparable(remote) == comparable(embedded)


def test_remote_refuses_service_before_forwarding(remote_client):
    response = remote_client.get(
        "/sparql",
        query_string={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"},
    )
    assert response.status_code == 400
    assert response.get_json()["reason"] == "service"


def test_remote_dataset_selection(client, remote_client):
    graph = dataset.shipped_files()[0].graph
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    for parameters in ({"default-graph-uri": graph}, {"default-graph-uri": "urn:not-a-graph"}):
        embedded = client.get("/sparql", query_string={"query": query, **parameters})
        remote = remote_client.get("/sparql", query_string={"query": query, **parameters})
        assert embedded.status_code == remote.status_code
        if embedded.status_code == 200:
            assert comparable(remote) == comparable(embedded)


def test_remote_dumps_health_and_void(remote_client, client):
    remote_dump = remote_client.get("/download/zigraph.nq")
    embedded_dump = client.get("/download/zigraph.nq")
    assert remote_dump.status_code == 200
    remote_quads = list(ox.parse(remote_dump.data, format=ox.RdfFormat.N_QUADS))
    embedded_quads = list(ox.parse(embedded_dump.data, format=ox.RdfFormat.N_QUADS))
    assert len(remote_quads) == len(embedded_quads)
    assert {q.graph_name for q in remote_quads} == {q.graph_name for q in embedded_quads}
    assert remote_dump.headers["ETag"]
    health = remote_client.get("/healthz").get_json()
    assert health["status"] == "ok"
    assert health["store"] == "remote"
    assert health["triples"] == len(embedded_quads)
    assert remote_client.get("/.well-known/void").status_code == 200


def test_store_down_then_back_without_restart(oxigraph, remote_client):
    query = {"query": "ASK { ?s ?p ?o }"}
    assert remote_client.get("/sparql", query_string=query).status_code == 200
    oxigraph.stop()
    try:
        down = remote_client.get("/sparql", query_string=query)
        assert down.status_code == 503
        body = down.get_json()
        assert body["error"] == "store-unavailable"
        assert oxigraph.base in body["message"]
        health = remote_client.get("/healthz")
        assert health.status_code == 503
        assert oxigraph.base in health.get_json()["message"]
    finally:
        oxigraph.start()
    back = remote_client.get("/sparql", query_string=query)
    assert back.status_code == 200
    assert back.get_json()["boolean"] is True


def test_push_to_an_unreachable_store_fails_clearly():
    url = f"http://127.0.0.1:{free_port()}/store"
    pushed = CliRunner().invoke(cli, ["push", "--graph-store", url])
    assert pushed.exit_code == 1
    assert url in pushed.output


def test_remote_store_answers_errors_as_bad_gateway(oxigraph):
    app = create_app({"TESTING": True, "ENDPOINT": oxigraph.base + "/no-such-endpoint"})
    response = app.test_client().get("/sparql", query_string={"query": "ASK {}"})
    assert response.status_code == 502
    assert oxigraph.base in response.get_json()["message"]


def test_remote_fixture_data_is_what_was_pushed(oxigraph, shipped_dataset):
    request = urllib.request.Request(
        oxigraph.base + "/query",
        data=b"SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
        headers={"Content-Type": "application/sparql-query", "Accept": "text/csv"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            count = int(response.read().decode().split()[-1])
    except urllib.error.URLError as error:  # pragma: no cover - a broken fixture
        pytest.fail(f"oxigraph did not answer: {error}")
    assert count == len(shipped_dataset.quads)


def test_serve_over_the_remote_store(oxigraph, tmp_path):
    from SPARQLWrapper import JSON, SPARQLWrapper

    script = shutil.which("zigraph") or str(Path(sys.executable).with_name("zigraph"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [script, "serve", "--port", str(port), "--workers", "1"]
            + ["--endpoint", oxigraph.base + "/query"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                        assert response.status == 200
                        break
                except (urllib.error.URLError, OSError):
                    assert process.poll() is None, "zigraph serve exited"
                    assert time.monotonic() < deadline, "zigraph serve did not start"
                    time.sleep(0.2)
            client = SPARQLWrapper(base + "/sparql")
            client.setQuery("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
            client.setReturnFormat(JSON)
            result = client.query()
            with result.response:
                count = result.convert()["results"]["bindings"][0]["n"]["value"]
            assert int(count) > 0
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
