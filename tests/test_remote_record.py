"""The record ``zigraph push`` writes beside the graphs, and what a remote store reads from it.

Against a real ``oxigraph serve``: the metadata, statistics, version and report come from the
record in a few small queries (the queries sent are counted by the backend itself, nothing
stands in for the store); a store without a record is counted by the store; dumps are read
graph by graph and equal the embedded store's.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import urllib.request

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from service import dataset, search, statistics
from service.cli import cli
from service.namespaces import GRAPH_BASE
from service.store import get_store, remote
from service.store.remote import RECORD_GRAPH, RECORD_PARTS, RemoteBackend, record_text
from tests.conftest import pushed
from tests.stores import OxigraphServer
from tests.test_remote_store import delete_graph, remote_app
from tests.test_search import hits, href

# What only a read of every quad or a scan of every graph sends.
WHOLE_STORE_READS = ("OFFSET", "GROUP BY ?g", "DISTINCT ?s ?p ?o")


def whole_store_reads(backend: RemoteBackend) -> list[str]:
    """Return the queries the backend sent that read or scan the whole store."""
    return [query for query in backend.sent if any(word in query for word in WHOLE_STORE_READS)]


def store_query(server: OxigraphServer, sparql: str) -> list[dict]:
    """Ask the store itself, past zigraph, and return its JSON bindings."""
    request = urllib.request.Request(
        server.endpoint,
        data=sparql.encode(),
        headers={
            "Content-Type": "application/sparql-query",
            "Accept": "application/sparql-results+json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["results"]["bindings"]


def canonical(dump: bytes) -> set[ox.Quad]:
    """Return a dump's quads with blank nodes named by RDFC-1.0: equal for isomorphic dumps."""
    quads = ox.Dataset(ox.parse(dump, format=ox.RdfFormat.N_QUADS))
    quads.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return set(quads)


@pytest.fixture
def own_server(tmp_path):
    """Run an ``oxigraph serve`` of this test's own, loaded by zigraph push; always stop it."""
    server = OxigraphServer(tmp_path / "oxigraph")
    server.start()
    try:
        yield pushed(server)
    finally:
        server.stop()


def test_push_writes_the_record_last_outside_the_data_graphs(oxigraph_server, app):
    rows = store_query(
        oxigraph_server,
        f"SELECT ?p ?text WHERE {{ GRAPH <{RECORD_GRAPH}> {{ <{RECORD_GRAPH}> ?p ?text }} }}",
    )
    pieces: dict[str, list[str]] = {}
    for row in rows:
        pieces.setdefault(row["p"]["value"], []).append(row["text"]["value"])
    parts = {p: record_text(found) for p, found in pieces.items()}
    assert set(parts) == set(RECORD_PARTS.values())
    metadata = json.loads(parts[RECORD_PARTS["metadata"]])
    with app.app_context():
        embedded = get_store()
        # Built by the one builder from the same files: the embedded store's very metadata.
        assert metadata["version"] == embedded.metadata()["version"]
        assert metadata["graphs"] == embedded.graphs()
        assert metadata["triples"] == embedded.metadata()["triples"]
        assert metadata["validation"]["conforms"] is True
        assert statistics.loads(parts[RECORD_PARTS["statistics"]]) == embedded.statistics()
    assert not RECORD_GRAPH.startswith(GRAPH_BASE)


def test_metadata_statistics_version_and_report_come_from_the_record(oxigraph_server, app):
    backend = RemoteBackend(oxigraph_server.endpoint)
    try:
        with app.app_context():
            embedded = get_store()
            assert backend.metadata()["version"] == embedded.metadata()["version"]
            assert backend.metadata().keys() == embedded.metadata().keys()  # passed through
            assert backend.fixed_version() == embedded.fixed_version()
            assert backend.graphs() == embedded.graphs()
            assert backend.statistics() == embedded.statistics()
            assert backend.health()["triples"] == embedded.metadata()["triples"]
        assert backend.health()["record"] is True
        # Two small queries of the record (its metadata, then each part once) and the ASKs
        # of the health checks: no read of every quad, no scan of every graph.
        assert whole_store_reads(backend) == []
        assert len(backend.sent) <= 5
    finally:
        backend.close()


def test_remote_pages_of_the_whole_dataset_read_only_the_record(oxigraph_server):
    for app in remote_app(oxigraph_server.endpoint):
        client = app.test_client()
        for url in ("/healthz", "/.well-known/void", "/validation", "/validation.json"):
            assert client.get(url).status_code == 200, url
        assert client.get("/validation.json").get_json()["conforms"] is True
        backend = app.extensions["zigraph.store"]
        assert backend.fixed_version() is not None  # pages and answers are kept per version
        assert whole_store_reads(backend) == []
        # What the report covers was counted with the statistics, before the push.
        assert statistics.FOCUS_NODES not in backend.sent
        assert statistics.SHAPES not in backend.sent


def test_remote_search_opens_the_index_push_wrote_into_the_record(
    oxigraph_server, client, monkeypatch, tmp_path
):
    # Reading every label and passage of the store (ENTRIES_QUERY) took Virtuoso more than
    # its time limit at a million triples: the search page answered 502.
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # this test's own dump folder
    reads = 0
    for query in ("dinarpus", "perpustakan pekalongan", "wilayah bebas korupsi"):
        embedded = [href(hit) for hit in hits(client, query)]
        assert embedded, query
        for app in remote_app(oxigraph_server.endpoint):  # a web process of its own
            assert [href(hit) for hit in hits(app.test_client(), query)] == embedded
            backend = app.extensions["zigraph.store"]
            assert search.ENTRIES_QUERY not in backend.sent
            reads += sum(RECORD_PARTS["search"] in sent for sent in backend.sent)
    # Read from the record and unpacked once, in the dump folder; the others open that.
    assert reads == 1
    [unpacked] = tmp_path.glob("zigraph-dumps-*/search-*")
    assert unpacked.name == f"search-{backend.fixed_version()}"
    # Another version's index goes an hour after its unpacking, when this one is unpacked.
    other = unpacked.with_name("search-0ther")
    shutil.copytree(unpacked, other)
    os.utime(other, (time.time() - 7200, time.time() - 7200))
    shutil.rmtree(unpacked)
    for app in remote_app(oxigraph_server.endpoint):
        assert hits(app.test_client(), "dinarpus")
    assert [p.name for p in tmp_path.glob("zigraph-dumps-*/search-*")] == [unpacked.name]


def test_a_web_process_opens_the_saved_search_index_before_its_first_search(
    oxigraph_server, monkeypatch, tmp_path
):
    import tempfile

    from service.pages.browse import open_saved_search_index

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for app in remote_app(oxigraph_server.endpoint):
        with app.app_context():  # as service/server.py does in each web process
            open_saved_search_index()
        backend = app.extensions["zigraph.store"]
        assert any(RECORD_PARTS["search"] in sent for sent in backend.sent)
        backend.sent.clear()
        assert hits(app.test_client(), "dinarpus")
        # The first search neither read the index from the record nor indexed the store.
        assert not any(RECORD_PARTS["search"] in sent for sent in backend.sent)
        assert search.ENTRIES_QUERY not in backend.sent


def test_remote_dump_equals_the_embedded_dump_read_graph_by_graph(
    oxigraph_server, client, monkeypatch, tmp_path
):
    import tempfile

    monkeypatch.setattr(remote, "PAGE_ROWS", 100)  # several pages for the larger graphs
    # A dump is written once per version: another test's file of the same store would be sent.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    embedded = client.get("/download/zigraph.nq")
    for app in remote_app(oxigraph_server.endpoint):
        dumped = app.test_client().get("/download/zigraph.nq")
        assert dumped.status_code == embedded.status_code == 200
        assert canonical(dumped.data) == canonical(embedded.data)
        backend = app.extensions["zigraph.store"]
        pages = [query for query in backend.sent if "OFFSET" in query]
        assert all("GRAPH ?g" not in query for query in pages)  # one graph at a time
        assert len(pages) > len(backend.graphs())  # and more than one page for some
    assert b"_:" in embedded.data  # the shapes' blank nodes are part of what is compared


def test_a_store_without_a_record_is_counted_by_the_store(own_server, app, caplog):
    delete_graph(own_server, RECORD_GRAPH)  # as the manual says to force a count
    backend = RemoteBackend(own_server.endpoint)
    try:
        with caplog.at_level(logging.WARNING, logger="service.store.remote"):
            with app.app_context():
                embedded = get_store()
                assert backend.graphs() == embedded.graphs()
                assert backend.metadata()["triples"] == embedded.metadata()["triples"]
                assert backend.statistics() == embedded.statistics()
            assert backend.fixed_version() is None  # nothing is kept per version
            version = backend.metadata()["version"]
            assert backend.health()["record"] is False
        warnings = [r.getMessage() for r in caplog.records if "zigraph push" in r.getMessage()]
        assert len(warnings) == 1
        # Counted by the store, per graph: never a read of every quad.
        assert not [query for query in backend.sent if "OFFSET" in query]
    finally:
        backend.close()
    pushed(own_server)
    backend = RemoteBackend(own_server.endpoint)
    try:
        assert backend.fixed_version() == backend.metadata()["version"] != version
    finally:
        backend.close()


def test_pushing_changed_data_changes_the_version(own_server, tmp_path, monkeypatch):
    from service.namespaces import ID_BASE

    monkeypatch.setattr(remote, "METADATA_SECONDS", 0.0)
    data = tmp_path / "data" / "bodies.ttl"
    data.parent.mkdir()
    label = "<http://www.w3.org/2004/02/skos/core#prefLabel>"
    data.write_text(f'<{ID_BASE}organisation/dinas-zebra> {label} "Dinas Zebra"@id .\n')
    for app in remote_app(own_server.endpoint):
        client = app.test_client()
        shipped = client.get("/healthz").get_json()["version"]
        result = CliRunner().invoke(
            cli, ["push", "--graph-store", own_server.graph_store, "--data", str(data)]
        )
        assert result.exit_code == 0, result.output
        first = client.get("/healthz").get_json()["version"]
        data.write_text(f'<{ID_BASE}organisation/dinas-zebra> {label} "Dinas Zebra Baru"@id .\n')
        result = CliRunner().invoke(
            cli, ["push", "--graph-store", own_server.graph_store, "--data", str(data)]
        )
        assert result.exit_code == 0, result.output
        second = client.get("/healthz").get_json()["version"]
        assert len({shipped, first, second}) == 3
        # The shipped articles' graphs stay in the store, but the record no longer lists them.
        with app.app_context():
            served = get_store().graphs()
        assert served == sorted(f.graph for f in dataset.selected_files((data,)))
        article = f"{GRAPH_BASE}articles/"
        assert not [g for g in served if g.startswith(article)]
        in_store = (
            f"SELECT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
            f"FILTER(STRSTARTS(STR(?g), '{article}')) }} LIMIT 1"
        )
        assert store_query(own_server, in_store)


def test_a_million_triples_record_is_taken_by_virtuoso_and_read_back_whole(
    virtuoso_server, tmp_path
):
    """Virtuoso's Graph Store refused the record of a million triples (365 KB) twice: written
    one line a part, then in pieces of 30,000 characters ("of unsupported type text/plain")."""
    import requests

    from service.push import put, record_triples
    from service.store.embedded import STATISTICS_FILE
    from service.store.remote import store_session

    places = {f"https://w3id.org/zigraph/id/place/kota-{n:05d}": [] for n in range(6000)}
    statistics_text = json.dumps({"coverage": {"places": places}}, indent=1)
    (tmp_path / STATISTICS_FILE).write_text(statistics_text)
    metadata = {"version": "0123456789abcdef", "graphs": [f"{GRAPH_BASE}g{n}" for n in range(3000)]}
    body = record_triples(tmp_path, metadata)
    assert len(body) > 300_000  # about a million triples' record
    graph = "https://w3id.org/zigraph/test/large-record"  # not the served record
    session = store_session(
        virtuoso_server.graph_store, virtuoso_server.user, virtuoso_server.password
    )
    import io

    status = put(
        session, virtuoso_server.graph_store, graph, io.BytesIO(body), "application/n-triples", 60
    )
    assert status in (200, 201, 204)
    answer = requests.get(
        virtuoso_server.endpoint,
        params={"query": f"SELECT ?p ?text WHERE {{ GRAPH <{graph}> {{ ?r ?p ?text }} }}"},
        headers={"Accept": "application/sparql-results+json"},
        timeout=60,
    )
    pieces: dict[str, list[str]] = {}
    for row in answer.json()["results"]["bindings"]:
        pieces.setdefault(row["p"]["value"], []).append(row["text"]["value"])
    assert record_text(pieces[RECORD_PARTS["statistics"]]) == statistics_text
    assert json.loads(record_text(pieces[RECORD_PARTS["metadata"]])) == metadata


def test_a_large_record_part_is_written_in_numbered_pieces():
    from service.store.remote import RECORD_PIECE, record_pieces

    text = json.dumps({"places": {f"https://example.org/place/{n}": [] for n in range(9000)}})
    pieces = record_pieces(text)
    assert len(pieces) > 1 and all(len(p) <= RECORD_PIECE + 7 for p in pieces)
    assert record_text(list(reversed(pieces))) == text
    assert record_text(['{"version": "a record written whole"}']) == (
        '{"version": "a record written whole"}'
    )


def test_the_record_holds_each_large_class_s_first_and_last_members(tmp_path, monkeypatch):
    """zigraph push writes the ends of each class the built store lists (its pages over a
    remote store are read from there, tests/test_remote_store.py), and no other class."""
    from service import push
    from service.store.embedded import save_class_members

    monkeypatch.setattr(push, "LISTED_MEMBERS", 10)
    monkeypatch.setattr(push, "RECORD_CLASS_MEMBERS", 5)
    large, small = "https://example.org/Large", "https://example.org/Small"
    store = ox.Store()
    kind = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    members = [f"https://example.org/m{n:02d}" for n in (7, 3, 11, 0, 5, 9, 1, 10, 2, 8, 6, 4)]
    for member in members:
        store.add(ox.Quad(ox.NamedNode(member), kind, ox.NamedNode(large)))
    store.add(ox.Quad(ox.NamedNode(members[0]), kind, ox.NamedNode(small)))
    save_class_members(store, tmp_path, [large])
    figures = {"data_classes": {"members": {large: 12, small: 1}}}
    ordered = sorted(members)
    assert push.class_ends(tmp_path, figures) == {
        large: {"first": ordered[:5], "last": ordered[::-1][:5]}
    }
    assert push.class_ends(tmp_path, {}) == {}  # statistics saved before the classes' figures
