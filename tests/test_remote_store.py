"""The remote backend against a real ``oxigraph serve`` and a real Virtuoso, loaded by push.

The checks every engine shares are in ``test_engines.py``; these are the remote store's own:
loading with credentials, what each engine does differently, and a store going away.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from service import create_app, dataset
from service.cli import cli
from service.store.remote import RECORD_GRAPH
from tests.conftest import pushed
from tests.stores import OxigraphServer, free_port, stop

QUERIES = [
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o }",
    "SELECT ?class (COUNT(?s) AS ?n) WHERE { ?s a ?class } GROUP BY ?class",
    "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
    "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?label "
    'FILTER(LANG(?label) = "id") } ',
    "ASK { ?s a ?class }",
    "ASK { ?s ?p <urn:nothing> }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "DESCRIBE ?s WHERE { ?s a ?class } ORDER BY ?s LIMIT 3",
]
PASSWORD = "ZIGRAPH_STORE_PASSWORD"


def remote_app(endpoint: str, **config):
    """Yield an application over a remote endpoint and close its backend afterwards."""
    app = create_app({"TESTING": True, "ENDPOINT": endpoint, **config})
    yield app
    backend = app.extensions.get("zigraph.store")
    if backend is not None:
        backend.close()


@pytest.fixture
def remote_client(oxigraph_server):
    yield from (app.test_client() for app in remote_app(oxigraph_server.endpoint))


@pytest.fixture
def virtuoso_client(virtuoso_server):
    yield from (app.test_client() for app in remote_app(virtuoso_server.endpoint))


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


def test_push_reports_progress_per_graph(oxigraph_server):
    pushed_again = CliRunner().invoke(cli, ["push", "--graph-store", oxigraph_server.graph_store])
    assert pushed_again.exit_code == 0
    files = dataset.shipped_files()
    lines = [line for line in pushed_again.output.splitlines() if line.startswith("[")]
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


def test_remote_dataset_selection(client, remote_client):
    graph = dataset.shipped_files()[0].graph
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    for parameters in ({"default-graph-uri": graph}, {"default-graph-uri": "urn:not-a-graph"}):
        embedded = client.get("/sparql", query_string={"query": query, **parameters})
        remote = remote_client.get("/sparql", query_string={"query": query, **parameters})
        assert embedded.status_code == remote.status_code
        if embedded.status_code == 200:
            assert comparable(remote) == comparable(embedded)


def test_store_default_graph_setting_does_not_matter(tmp_path, client):
    """Guard: without --union-default-graph the pages and /sparql still find the data."""
    server = OxigraphServer(tmp_path / "oxigraph", union_default_graph=False)
    server.start()
    try:
        pushed(server)
        for app in remote_app(server.endpoint):
            remote = app.test_client()
            page = remote.get("/doc/organisation/dpmptsp-kota-pekalongan")
            assert page.status_code == 200
            query = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "format": "json"}
            assert comparable(remote.get("/sparql", query_string=query)) == comparable(
                client.get("/sparql", query_string=query)
            )
    finally:
        server.stop()


def test_store_down_then_back_without_restart(oxigraph_server, remote_client):
    assert remote_client.get("/sparql", query_string={"query": "ASK {}"}).status_code == 200
    # An answer not kept yet: one kept for this data version is answered from the cache.
    query = {"query": "ASK { ?s ?p ?o }"}
    oxigraph_server.stop()
    try:
        down = remote_client.get("/sparql", query_string=query)
        assert down.status_code == 503
        body = down.get_json()
        assert body["error"] == "store-unavailable"
        assert oxigraph_server.base not in body["message"]
        health = remote_client.get("/healthz")
        assert health.status_code == 503
        assert oxigraph_server.base not in health.get_json()["message"]
    finally:
        oxigraph_server.start()
    back = remote_client.get("/sparql", query_string=query)
    assert back.status_code == 200
    assert back.get_json()["boolean"] is True


def test_push_to_an_unreachable_store_fails_clearly():
    url = f"http://127.0.0.1:{free_port()}/store"
    result = CliRunner().invoke(cli, ["push", "--graph-store", url])
    assert result.exit_code == 1
    assert url in result.output


def test_remote_store_answers_errors_as_bad_gateway(oxigraph_server):
    for app in remote_app(oxigraph_server.base + "/no-such-endpoint"):
        response = app.test_client().get("/sparql", query_string={"query": "ASK {}"})
        assert response.status_code == 502
        assert oxigraph_server.base not in response.get_json()["message"]


def test_remote_fixture_data_is_what_was_pushed(oxigraph_server, shipped_dataset):
    from service.namespaces import GRAPH_BASE

    in_data_graphs = f'FILTER(STRSTARTS(STR(?g), "{GRAPH_BASE}"))'  # not the record's
    count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {in_data_graphs} }}"
    request = urllib.request.Request(
        oxigraph_server.endpoint,
        data=count.encode(),
        headers={"Content-Type": "application/sparql-query", "Accept": "text/csv"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        count = int(response.read().decode().split()[-1])
    assert count == len(shipped_dataset.quads)


# --- credentials ----------------------------------------------------------------------------


def test_push_with_digest_auth_never_prints_the_password(virtuoso_server):
    result = CliRunner(env={PASSWORD: virtuoso_server.password}).invoke(
        cli, ["push", "--graph-store", virtuoso_server.graph_store, "--user", "dba"]
    )
    assert result.exit_code == 0, result.output
    assert virtuoso_server.password not in result.output


def test_push_with_credentials_in_the_url_hides_them(virtuoso_server):
    url = virtuoso_server.graph_store.replace(
        "://", f"://{virtuoso_server.user}:{virtuoso_server.password}@"
    )
    result = CliRunner(env={PASSWORD: None}).invoke(cli, ["push", "--graph-store", url])
    assert result.exit_code == 0, result.output
    assert virtuoso_server.password not in result.output
    assert virtuoso_server.graph_store in result.output


def test_push_takes_the_password_from_netrc(virtuoso_server, tmp_path):
    netrc = tmp_path / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login dba password {virtuoso_server.password}\n")
    netrc.chmod(0o600)
    result = CliRunner(env={"HOME": str(tmp_path), PASSWORD: None}).invoke(
        cli, ["push", "--graph-store", virtuoso_server.graph_store, "--user", "dba"]
    )
    assert result.exit_code == 0, result.output


def test_push_with_a_wrong_password_fails_without_printing_it(virtuoso_server):
    result = CliRunner(env={PASSWORD: "not-the-password"}).invoke(
        cli, ["push", "--graph-store", virtuoso_server.graph_store, "--user", "dba"]
    )
    assert result.exit_code == 1
    assert "refused the user name or password" in result.output
    assert "not-the-password" not in result.output


def test_push_without_a_password_says_where_to_put_it(virtuoso_server, tmp_path):
    result = CliRunner(env={"HOME": str(tmp_path), PASSWORD: None}).invoke(
        cli, ["push", "--graph-store", virtuoso_server.graph_store, "--user", "dba"]
    )
    assert result.exit_code == 1
    assert PASSWORD in result.output


class BasicAuthGraphStore(http.server.BaseHTTPRequestHandler):
    """A graph store that takes PUTs from one user, with Basic authentication."""

    expected = "Basic " + base64.b64encode(b"loader:basic-secret").decode()
    received: list[str] = []

    def do_PUT(self) -> None:  # noqa: N802 - the handler's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="graphs"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.received.append(self.path)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_push_with_basic_auth():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BasicAuthGraphStore)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/store"
        result = CliRunner(env={PASSWORD: "basic-secret"}).invoke(
            cli, ["push", "--graph-store", url, "--user", "loader"]
        )
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert result.exit_code == 0, result.output
    # Each graph, then the record.
    assert len(BasicAuthGraphStore.received) == len(dataset.shipped_files()) + 1
    assert BasicAuthGraphStore.received[-1].endswith("graph=" + quote(RECORD_GRAPH, safe=""))


def test_serve_over_a_query_endpoint_that_needs_credentials(virtuoso_server, monkeypatch):
    endpoint = virtuoso_server.base + "/sparql-auth"  # Virtuoso's digest-protected endpoint
    monkeypatch.setenv(PASSWORD, virtuoso_server.password)
    for app in remote_app(endpoint, STORE_USER="dba"):
        response = app.test_client().get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
        assert response.status_code == 200
        assert response.get_json()["boolean"] is True
    monkeypatch.setenv(PASSWORD, "not-the-password")
    for app in remote_app(endpoint, STORE_USER="dba"):
        response = app.test_client().get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
        assert response.status_code == 503
        assert "credentials" in response.get_json()["message"]
        assert "not-the-password" not in response.get_data(as_text=True)


# --- what Virtuoso does differently ---------------------------------------------------------


def test_virtuoso_system_graphs_are_not_served(virtuoso_client, shipped_dataset):
    query = {"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", "format": "json"}
    response = virtuoso_client.get("/sparql", query_string=query)
    graphs = {b["g"]["value"] for b in response.get_json()["results"]["bindings"]}
    assert graphs == {f.graph for f in shipped_dataset.files}
    count = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "format": "json"}
    n = virtuoso_client.get("/sparql", query_string=count).get_json()["results"]["bindings"]
    assert int(n[0]["n"]["value"]) == len({q.triple for q in shipped_dataset.quads})


def test_rows_cut_by_the_store_carry_the_truncation_header(virtuoso_server):
    """Guard: Virtuoso's ResultSetMaxRows (10000 here) cuts an answer; the client is told."""
    query = "SELECT ?s ?o WHERE { ?s ?p ?o . ?x a ?c }"  # far more than 10000 rows
    for app in remote_app(virtuoso_server.endpoint, RESULT_LIMIT=50000):
        response = app.test_client().get("/sparql", query_string={"query": query})
        assert response.status_code == 200
        assert response.headers["X-Zigraph-Result-Truncated"] == "true"
        assert len(response.get_json()["results"]["bindings"]) == 10000


def test_store_side_timeout_answers_503_with_the_store_words(virtuoso_server):
    """Guard: Virtuoso stops at zigraph's limit (its timeout parameter) and says why."""
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    for app in remote_app(virtuoso_server.endpoint, QUERY_TIMEOUT=3):
        response = app.test_client().get("/sparql", query_string={"query": query})
        assert response.status_code == 503
        body = response.get_json()
        assert body["error"] == "query-timeout"
        assert "stopped the query at its time limit" in body["message"]
        assert "S1TAT" in body["message"] or "timeout" in body["message"].lower()


def test_healthz_names_the_engine(virtuoso_client):
    health = virtuoso_client.get("/healthz").get_json()
    assert health["status"] == "ok"
    assert health["engine"].startswith("Virtuoso")


def test_serve_over_the_remote_store(oxigraph_server, tmp_path):
    from SPARQLWrapper import JSON, SPARQLWrapper

    script = shutil.which("zigraph") or str(Path(sys.executable).with_name("zigraph"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [script, "serve", "--port", str(port), "--workers", "1"]
            + ["--endpoint", oxigraph_server.endpoint],
            stdout=log,
            stderr=subprocess.STDOUT,
            # The Oxigraph server answers SERVICE: serve refuses it unless allowed.
            env={**os.environ, "ZIGRAPH_ALLOW_NETWORKED_STORE": "1"},
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
            started = (tmp_path / "serve.log").read_text()
            assert f"{len(dataset.shipped_files())} graphs in the store (Oxigraph" in started
            assert (
                "warning: the store fetched a URL of zigraph's when asked to (SERVICE)" in started
            )
        finally:
            stop(process)


def test_changes_by_other_means_are_seen_once_the_record_is_dropped(tmp_path, monkeypatch):
    """Guard: a graph put into the store past zigraph push is served once its record is gone,
    and /validation then says which data it validated (docs/remote-stores.md)."""
    from service.namespaces import GRAPH_BASE, ID_BASE
    from service.pages import browse
    from service.store import remote

    monkeypatch.setattr(remote, "METADATA_SECONDS", 0.2)
    monkeypatch.setattr(browse, "SEARCH_REFRESH_SECONDS", 0.2)
    server = OxigraphServer(tmp_path / "oxigraph")
    server.start()
    try:
        pushed(server)
        for app in remote_app(server.endpoint):
            remote_client = app.test_client()
            zebra = "/doc/organisation/dinas-zebra"
            assert zebra not in remote_client.get("/search?q=zebra").get_data(as_text=True)
            assert remote_client.get("/download/zigraph.nq").status_code == 200
            added = (
                f"<{ID_BASE}organisation/dinas-zebra> <http://www.w3.org/2004/02/skos/core#"
                'prefLabel> "Dinas Zebra"@id .\n'
            )
            put_graph(server, f"{GRAPH_BASE}articles/zebra", added.encode())
            time.sleep(0.5)
            # The record lists the graphs served, and its version keys the kept pages.
            assert zebra not in remote_client.get("/search?q=zebra").get_data(as_text=True)
            delete_graph(server, remote.RECORD_GRAPH)
            time.sleep(0.5)
            assert zebra in remote_client.get("/search?q=zebra").get_data(as_text=True)
            dump = remote_client.get("/download/zigraph.nq").get_data(as_text=True)
            assert "Dinas Zebra" in dump
            page = remote_client.get("/validation?lang=en").get_data(as_text=True)
            assert "the data served by the store" in page
            assert server.endpoint not in page  # the store's address is not the public's
    finally:
        server.stop()


def put_graph(server: OxigraphServer, graph: str | None, triples: bytes) -> None:
    """Replace a graph of the store (None: its default graph) past zigraph, with the Graph
    Store Protocol."""
    request = urllib.request.Request(
        f"{server.graph_store}?" + ("default" if graph is None else f"graph={graph}"),
        data=triples,
        method="PUT",
        headers={"Content-Type": "application/n-triples"},
    )
    urllib.request.urlopen(request, timeout=30).close()


def delete_graph(server: OxigraphServer, graph: str) -> None:
    """Drop a graph of the store past zigraph, with the Graph Store Protocol."""
    request = urllib.request.Request(f"{server.graph_store}?graph={graph}", method="DELETE")
    urllib.request.urlopen(request, timeout=30).close()


def test_virtuoso_bulk_loader_recipe(tmp_path, shipped_dataset):
    """The README's bulk-loader commands load what ``zigraph push`` would."""
    from service.export import FORMATS, serialize_dataset
    from tests.stores import VirtuosoServer

    server = VirtuosoServer(tmp_path / "virtuoso")
    try:
        server.start()
        load = server.folder / "load"
        load.mkdir()
        (load / "zigraph.nq").write_bytes(serialize_dataset(shipped_dataset.quads, FORMATS["nq"]))
        server.sql(
            f"ld_dir('{load}', '*.nq', 'https://w3id.org/zigraph/graph/unnamed'); "
            "rdf_loader_run(); checkpoint;"
        )
        for app in remote_app(server.endpoint):
            health = app.test_client().get("/healthz").get_json()
            assert health["status"] == "ok"
            assert health["triples"] == len(shipped_dataset.quads)
    finally:
        server.stop()


def test_healthz_says_when_the_store_holds_no_zigraph_graph(tmp_path):
    """Guard: a store nothing was pushed to is not reported healthy."""
    server = OxigraphServer(tmp_path / "empty")
    server.start()
    try:
        for app in remote_app(server.endpoint):
            response = app.test_client().get("/healthz")
            assert response.status_code == 503
            assert "zigraph push" in response.get_json()["message"]
    finally:
        server.stop()


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }",
        "CONSTRUCT { ?a ?b ?f } WHERE { ?a ?b ?c . ?d ?e ?f }",
    ],
)
def test_a_huge_answer_is_cut_at_the_byte_bound(oxigraph_server, monkeypatch, query):
    """Guard: the Oxigraph server streams millions of rows; zigraph reads a bounded part."""
    from service.store import remote

    monkeypatch.setattr(remote, "MAX_ANSWER_BYTES", 200_000)
    for app in remote_app(oxigraph_server.endpoint, RESULT_LIMIT=1_000_000):
        graph_query = query.startswith("CONSTRUCT")
        parameters = {"query": query, "format": "nt" if graph_query else "json"}
        response = app.test_client().get("/sparql", query_string=parameters)
        assert response.status_code == 200
        assert response.headers["X-Zigraph-Result-Truncated"] == "true"
        if graph_query:
            answer = list(ox.parse(response.data, format=ox.RdfFormat.N_TRIPLES))
        else:
            answer = list(ox.parse_query_results(response.data, format=ox.QueryResultsFormat.JSON))
        assert 100 < len(answer) < 10_000


def test_virtuoso_answers_a_dataset_of_more_than_a_hundred_graphs(virtuoso_server):
    # Virtuoso echoes each default-graph-uri as a header, and Python's HTTP client refused an
    # answer with more than 100 headers: zigraph over Virtuoso answered nothing at a million
    # triples (3,240 graphs). The dataset is sent as the service sends its own queries.
    from service.store.remote import RESULTS_JSON, RemoteBackend

    backend = RemoteBackend(virtuoso_server.endpoint)
    try:
        graphs = [f"https://w3id.org/zigraph/graph/many/{n}" for n in range(150)]
        answer = backend._post(
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", RESULTS_JSON, 30, graphs, []
        )
        assert backend._read_results(answer).rows[0][0].value == "0"
    finally:
        backend.close()


def test_an_xml_answer_cut_short_keeps_its_whole_results(virtuoso_server):
    # An answer is cut at MAX_ANSWER_BYTES; Virtuoso's answers are XML: what was read whole is
    # kept, the rows in their order, a literal's spaces at either end too.
    from service.store.remote import RESULTS_XML, RemoteBackend, _complete_xml, _xml_results

    backend = RemoteBackend(virtuoso_server.endpoint)
    try:
        query = (
            "SELECT ?q ?x WHERE { ?q <http://www.w3.org/ns/oa#prefix>|<http://www.w3.org/ns/oa#suffix>"
            " ?x } ORDER BY ?q ?x"
        )
        answer = backend._post(query, RESULTS_XML, 30, backend.graphs(), [])
        whole = _xml_results(answer.body, False, frozenset(), None).rows
        assert len(whole) > 20 and any(row[1].value != row[1].value.strip() for row in whole)
        for size in (
            len(answer.body) // 3,
            len(answer.body) // 2,
            answer.body.rfind(b"<result>") + 9,
        ):
            kept = _xml_results(_complete_xml(answer.body[:size]), False, frozenset(), None).rows
            assert 0 < len(kept) < len(whole) and kept == whole[: len(kept)]
    finally:
        backend.close()


OTHER_GRAPH = "https://example.org/loaded-by-other-means"


def forget_counts(backend) -> None:
    """Make the backend read the store's counts again, as METADATA_SECONDS passing would (its
    census of the graphs then taken now, not in the background)."""
    backend._cache.clear()
    backend._census = None


def test_virtuoso_names_many_graphs_as_every_graph_but_the_others(virtuoso_server, monkeypatch):
    # Virtuoso answers a dataset of thousands of graphs slowly (an ASK over 3,240 of them took
    # 4 s at a million triples): past MANY_GRAPHS, zigraph's graphs are sent as the
    # store's graphs but the others. A graph loaded by other means since is left out as soon
    # as the store's total of quads is read again (at most METADATA_SECONDS later).
    from service.store import remote

    monkeypatch.setattr(remote, "MANY_GRAPHS", 0)
    backend = remote.RemoteBackend(virtuoso_server.endpoint)
    count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    other = f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g = <{OTHER_GRAPH}>) }}"
    try:
        listed = remote.RemoteBackend(virtuoso_server.endpoint)
        monkeypatch.setattr(remote, "MANY_GRAPHS", 10_000)
        expected = listed.query(count).rows
        assert "DEFINE" not in listed.sent[-1]
        listed.close()
        monkeypatch.setattr(remote, "MANY_GRAPHS", 0)

        assert backend.query(count).rows == expected
        sent = backend.sent[-1]
        assert sent.startswith("DEFINE input:default-graph-exclude <")
        assert f"DEFINE input:named-graph-exclude <{RECORD_GRAPH}>" in sent
        virtrdf = "http://www.openlinksw.com/schemas/virtrdf#"  # one of Virtuoso's own
        assert f"DEFINE input:default-graph-exclude <{virtrdf}>" in sent

        virtuoso_server.sql(
            f"SPARQL INSERT DATA {{ GRAPH <{OTHER_GRAPH}> "
            '{ <https://example.org/s> <https://example.org/p> "other" } };'
        )
        forget_counts(backend)  # as METADATA_SECONDS passing would
        assert backend.query(count).rows == expected
        assert backend.query(other).boolean is False
        assert f"<{OTHER_GRAPH}>" in backend.sent[-1].split("ASK", 1)[0]
    finally:
        virtuoso_server.sql(f"SPARQL CLEAR GRAPH <{OTHER_GRAPH}>;")
        backend.close()


def test_virtuoso_is_sent_no_exclusions_for_a_query_that_cannot_reach_the_others(
    virtuoso_server, monkeypatch
):
    # The exclusions slow Virtuoso's plans (the bench's aggregate: 12.4 against 5.4 ms), so a
    # query whose patterns cannot match a triple of the other graphs goes without them; one
    # that can keeps them, and so does one that names a predicate of a graph loaded since.
    from service.queryparser import parse_query
    from service.store import remote

    monkeypatch.setattr(remote, "MANY_GRAPHS", 0)
    backend = remote.RemoteBackend(virtuoso_server.endpoint)
    labels = parse_query(
        "SELECT (COUNT(*) AS ?n) WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?o }"
    )
    typed = parse_query("SELECT (COUNT(*) AS ?n) WHERE { ?s a ?class }")
    other = parse_query("SELECT ?o WHERE { ?s <https://example.org/p> ?o }")
    try:
        listed = remote.RemoteBackend(virtuoso_server.endpoint)
        monkeypatch.setattr(remote, "MANY_GRAPHS", 10_000)
        expected = listed.query(labels).rows, listed.query(typed).rows
        listed.close()
        monkeypatch.setattr(remote, "MANY_GRAPHS", 0)

        assert backend.query(labels).rows == expected[0]
        assert "DEFINE" not in backend.sent[-1]
        assert backend.query(typed).rows == expected[1]  # Virtuoso's own graphs have types
        assert backend.sent[-1].startswith("DEFINE input:default-graph-exclude <")
        assert backend.query(other).rows == []
        assert "DEFINE" not in backend.sent[-1]

        virtuoso_server.sql(
            f"SPARQL INSERT DATA {{ GRAPH <{OTHER_GRAPH}> "
            '{ <https://example.org/s> <https://example.org/p> "other" } };'
        )
        forget_counts(backend)  # as METADATA_SECONDS passing would
        assert backend.query(other).rows == []
        assert f"<{OTHER_GRAPH}>" in backend.sent[-1].split("SELECT", 1)[0]

        # Other graphs too large to read what they hold keep the pragmas for every query.
        monkeypatch.setattr(remote, "OTHER_REACH_QUADS", 10)
        virtuoso_server.sql(
            f"SPARQL INSERT DATA {{ GRAPH <{OTHER_GRAPH}> "
            '{ <https://example.org/s> <https://example.org/p> "more" } };'
        )
        forget_counts(backend)
        assert backend.query(labels).rows == expected[0]
        assert backend.sent[-1].startswith("DEFINE input:default-graph-exclude <")
    finally:
        virtuoso_server.sql(f"SPARQL CLEAR GRAPH <{OTHER_GRAPH}>;")
        backend.close()


def test_oxigraph_is_asked_on_its_union_default_graph_when_the_others_are_out_of_reach(
    tmp_path, monkeypatch
):
    # The Oxigraph server answers a dataset of thousands of graphs slowly (a lookup took
    # 70-150 ms over a million triples' 3,240 graphs, against 3-6 ms on its union default
    # graph): past MANY_GRAPHS, a query that cannot match a triple of its other graphs (the
    # record, any loaded by other means) is asked on its union default graph. The server runs
    # without --union-default-graph, so that a query sent without the parameter would find
    # its empty default graph, and the store's own default graph holds a triple later on.
    from service.namespaces import ID_BASE
    from service.queryparser import parse_query
    from service.store import remote

    server = OxigraphServer(tmp_path / "oxigraph", union_default_graph=False)
    server.start()
    pushed(server)
    monkeypatch.setattr(remote, "MANY_GRAPHS", 0)
    backend = remote.RemoteBackend(server.endpoint)
    entity = f"{ID_BASE}organisation/dpmptsp-kota-pekalongan"
    label = "<http://www.w3.org/2004/02/skos/core#prefLabel>"
    described = parse_query(f"SELECT ?p ?o WHERE {{ <{entity}> ?p ?o }}")
    cited = parse_query(f"SELECT ?s ?p WHERE {{ ?s ?p <{entity}> }}")
    labelled = parse_query(f"SELECT ?s ?l WHERE {{ ?s {label} ?l }}")
    everything = parse_query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    graphs = parse_query(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ <{entity}> ?p ?o }} }}")
    queries = [described, cited, labelled, everything, graphs]

    def answers() -> list[list]:
        return [sorted(map(str, backend.query(query).rows)) for query in queries]

    def unions() -> list[bool]:
        sent = []
        for query in queries:
            backend.query(query)
            sent.append(backend.sent[-1].union)
        return sent

    try:
        listed = remote.RemoteBackend(server.endpoint)
        monkeypatch.setattr(remote, "MANY_GRAPHS", 10_000)
        expected = [sorted(map(str, listed.query(query).rows)) for query in queries]
        assert not any(sent.union for sent in listed.sent)
        listed.close()
        monkeypatch.setattr(remote, "MANY_GRAPHS", 0)
        assert all(expected)

        assert answers() == expected
        assert unions() == [True, True, True, False, True]  # ?s ?p ?o reaches the record

        # A graph loaded by other means, about the entity: its description is asked on
        # zigraph's graphs from then on, a label search still on the union.
        other = f'<{entity}> <https://example.org/p> "loaded by other means" .\n'
        put_graph(server, OTHER_GRAPH, other.encode())
        forget_counts(backend)
        assert answers() == expected
        assert unions() == [False, True, True, False, False]

        # A triple in the store's default graph, which the union default graph takes in.
        delete_graph(server, OTHER_GRAPH)
        put_graph(server, None, f'<{entity}> {label} "default" .\n'.encode())
        forget_counts(backend)
        assert answers() == expected
        assert not any(unions())
    finally:
        backend.close()
        server.stop()


def test_a_large_class_s_first_and_last_members_come_from_the_record(tmp_path, monkeypatch):
    # The Oxigraph server sorts the members of a class of a million triples' in 0.7-0.9 s for
    # one page of it: zigraph push writes each large class's first and last members, by IRI,
    # into the record ("classes", tests/test_remote_record.py), and the pages at either end
    # are read from there. The shipped classes are small (19 passages): the record is given
    # the passages' ends here, and the bounds are lowered for them.
    from service.pages import browse
    from service.store import get_store
    from service.store.remote import RECORD_PARTS, record_pieces

    monkeypatch.setattr(browse, "LABEL_SORTED_MEMBERS", 10)
    monkeypatch.setattr(browse, "PER_PAGE", 5)
    passage = "https://w3id.org/zigraph/ontology#Passage"
    server = OxigraphServer(tmp_path / "oxigraph")
    server.start()
    try:
        pushed(server)
        for app in remote_app(server.endpoint, PAGE_CACHE_MB=0):
            with app.app_context():
                backend = get_store()
            members = f"SELECT DISTINCT ?s WHERE {{ ?s a <{passage}> }} ORDER BY ?s"
            ordered = [row[0].value for row in backend.query(members).rows]
            assert len(ordered) > 10
            ends = {passage: {"first": ordered[:8], "last": ordered[::-1][:8]}}
            record, part = f"<{RECORD_GRAPH}>", f"<{RECORD_PARTS['classes']}>"
            pieces = ", ".join(str(ox.Literal(p)) for p in record_pieces(json.dumps(ends)))
            update = (  # the record's "classes" replaced
                f"DELETE WHERE {{ GRAPH {record} {{ {record} {part} ?piece }} }}; "
                f"INSERT DATA {{ GRAPH {record} {{ {record} {part} {pieces} }} }}"
            )
            request = urllib.request.Request(
                server.base + "/update",
                data=urlencode({"update": update}).encode(),
                method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            urllib.request.urlopen(request, timeout=30).close()

            assert backend.class_members(passage, 0, 5) == ordered[:5]
            assert backend.class_members(passage, 5, 3) == ordered[5:8]
            assert backend.class_members(passage, 0, 5, descending=True) == ordered[::-1][:5]
            assert backend.class_members(passage, 5, 5) is None  # past the record's 8
            for query, first in (("", ordered[0]), ("&sort=desc", ordered[-1])):
                backend.sent.clear()
                path = "/browse/class?" + urlencode({"iri": passage}) + query
                page = app.test_client().get(path, headers={"Accept": "text/html"})
                assert page.status_code == 200 and first in page.get_data(as_text=True)
                assert not [sent for sent in backend.sent if "ORDER BY" in sent]
            backend.sent.clear()
            path = "/browse/class?" + urlencode({"iri": passage, "page": 3})
            assert app.test_client().get(path, headers={"Accept": "text/html"}).status_code == 200
            assert [sent for sent in backend.sent if "ORDER BY" in sent]  # the store sorts
    finally:
        server.stop()


def test_the_first_page_of_a_class_the_store_sorts_is_rendered_ahead(oxigraph_server, monkeypatch):
    # Over a remote store a large class's page is the store's ORDER BY of its members (0.7-0.9 s
    # on the Oxigraph server at a million triples): its first page is rendered ahead, as the
    # home page is. The shipped classes are small; the bound is lowered for them.
    from service import warming

    monkeypatch.setattr(warming, "LABEL_SORTED_MEMBERS", 10)
    for app in remote_app(oxigraph_server.endpoint):
        with app.app_context():
            pages = warming.warmed_pages()
        classes = [path for path, *_ in pages if path.startswith("/browse/class?iri=")]
        assert "/browse/class?iri=https%3A%2F%2Fw3id.org%2Fzigraph%2Fontology%23Passage" in classes
        assert warming.render_warmed(app)
        for path in classes:
            for language in ("id", "en"):
                headers = {"Accept": "text/html", "Accept-Language": language}
                page = app.test_client().get(path, headers=headers)
                assert page.status_code == 200 and page.headers["X-Zigraph-Cache"] == "hit", path


@pytest.mark.parametrize(
    "path",
    [
        "organisation/dpmptsp-kota-pekalongan",
        "stage/kota-pekalongan-2020-2-dinilai-tingkat-nasional",
    ],
)
def test_an_entity_page_sends_each_of_its_queries_to_the_store_once(oxigraph_server, path):
    # Parts of a page ask some of the same queries (the charts' and the summary's rows, for
    # their labels first); over a remote store each is sent once and kept for the request.
    for app in remote_app(oxigraph_server.endpoint, PAGE_CACHE_MB=0):
        client = app.test_client()
        client.get("/healthz")
        backend = app.extensions["zigraph.store"]
        backend.sent.clear()
        assert (
            client.get(f"/doc/{path}?lang=en", headers={"Accept": "text/html"}).status_code == 200
        )
        sent = list(backend.sent)
        assert sent and len(sent) == len(set(sent)), [q for q in set(sent) if sent.count(q) > 1]


LABELS_QUERY = "SELECT DISTINCT ?x ?p ?l WHERE"


def labels_sent(app, path: str) -> list[str]:
    """Render a page and return the labels queries it sent to the store."""
    backend = app.extensions["zigraph.store"]
    backend.sent.clear()
    assert app.test_client().get(path, headers={"Accept": "text/html"}).status_code == 200
    return [q for q in backend.sent if q.startswith(LABELS_QUERY)]


def test_labels_are_kept_per_version_of_the_record_and_not_without_one(tmp_path, monkeypatch):
    """Over a remote store the labels a page was given are kept for the version of the record
    zigraph push wrote; once the record is gone, nothing is kept and every page asks."""
    from service.store import remote

    monkeypatch.setattr(remote, "METADATA_SECONDS", 0.2)
    server = OxigraphServer(tmp_path / "oxigraph")
    server.start()
    try:
        pushed(server)
        page = "/doc/organisation/dpmptsp-kota-pekalongan"
        for app in remote_app(server.endpoint, PAGE_CACHE_MB=0):
            app.test_client().get("/healthz")  # opens the backend
            assert labels_sent(app, page)
            assert labels_sent(app, page) == []  # rendered again: every label was kept
            delete_graph(server, remote.RECORD_GRAPH)
            time.sleep(0.5)
            assert labels_sent(app, page)
            assert labels_sent(app, page)  # no version: nothing is kept
    finally:
        server.stop()


def test_the_census_is_taken_again_in_the_background_and_kept_when_the_store_fails(tmp_path):
    # Which graphs the store holds is counted again every METADATA_SECONDS (0.5 s on the
    # Oxigraph server at a million triples): a request that finds it old is answered with the
    # last census while a thread of its own counts; a count that fails keeps the last census,
    # and is tried again once as old, not at every request.
    from service.store import remote

    server = OxigraphServer(tmp_path / "oxigraph")
    server.start()
    backend = remote.RemoteBackend(server.endpoint)
    try:
        pushed(server)
        backend.health()  # the engine named
        census = backend._store_census()
        assert census.total == sum(size for _, size in census.sizes) > 0
        backend._census = (0.0, census)  # as old as can be
        server.stop()
        assert backend._store_census() is census  # answered at once, counted in the background
        counting = [t for t in threading.enumerate() if t.name == "zigraph store census"]
        for thread in counting:
            thread.join(30)
        assert counting and backend._census[1] is census and backend._census[0] > 0
        assert backend._store_census() is census
        assert not [t for t in threading.enumerate() if t.name == "zigraph store census"]
    finally:
        backend.close()
        server.stop()
