"""The same service over each engine: the embedded store, the Oxigraph server and Virtuoso.

Every check runs once per engine and compares with the shipped data itself (evaluated by an
in-memory pyoxigraph store, or exported by ``zigraph export``), not with another engine.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from service import create_app
from service.export import FORMATS, serialize_dataset
from service.namespaces import ID_BASE, VOID
from service.store import get_store, remote
from tests.conftest import REPO
from tests.pagehtml import parse
from tests.stores import Listener

# Past MANY_GRAPHS (a million triples' 3,240 graphs): "oxigraph-union", the same Oxigraph
# server asked on its union default graph when a query cannot reach its other graphs;
# "virtuoso-excluding", the same Virtuoso, zigraph's graphs sent as every graph of the store but
# the others (or none for such a query).
ENGINES = ["embedded", "oxigraph", "oxigraph-union", "virtuoso", "virtuoso-excluding"]
QUERY_FILES = sorted((REPO / "queries").glob("*.rq"))
TIME_LIMIT = 5  # seconds: long enough for any page, far too short for the runaway query
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module", params=ENGINES)
def engine(request, store_dir):
    """Return a test client of the service over one engine, with a short time limit."""
    config = {"TESTING": True, "QUERY_TIMEOUT": TIME_LIMIT}
    patches = pytest.MonkeyPatch()
    if request.param == "embedded":
        config["STORE_DIR"] = str(store_dir)
    else:
        server = request.getfixturevalue(f"{request.param.split('-')[0]}_server")
        config["ENDPOINT"] = server.endpoint
    if request.param in ("oxigraph-union", "virtuoso-excluding"):
        patches.setattr(remote, "MANY_GRAPHS", 0)
    app = create_app(config)
    try:
        yield app.test_client()
    finally:
        backend = app.extensions.get("zigraph.store")
        if backend is not None:
            backend.close()
        patches.undo()


@pytest.fixture(scope="module")
def reference(shipped_dataset) -> ox.Store:
    """Return the shipped data in an in-memory store: the answers every engine must give."""
    store = ox.Store()
    store.bulk_extend(shipped_dataset.quads)
    return store


def term_key(term) -> str:
    """Return a term as text, all blank nodes alike."""
    if isinstance(term, ox.BlankNode):
        return "_:b"
    return str(term) if term is not None else ""


def comparable_results(results) -> object:
    """Return an answer in a form equal for equal answers, whatever the blank node labels."""
    if isinstance(results, ox.QueryBoolean):
        return bool(results)
    variables = [v.value for v in results.variables]
    rows = [tuple(term_key(row[v]) for v in variables) for row in results]
    return variables, sorted(rows)


def canonical(quads) -> set[ox.Quad]:
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return set(dataset)


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_competency_queries_answer_as_the_data_says(engine, reference, path: Path):
    query = path.read_text()
    response = engine.post("/sparql", data={"query": query, "format": "json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    served = ox.parse_query_results(response.data, format=ox.QueryResultsFormat.JSON)
    expected = reference.query(query, use_default_graph_as_union=True)
    assert comparable_results(served) == comparable_results(expected)


def test_ask_answers_a_boolean(engine):
    for query, truth in (("ASK { ?s ?p ?o }", True), ("ASK { ?s ?p <urn:nothing> }", False)):
        response = engine.get("/sparql", query_string={"query": query})
        assert response.status_code == 200
        assert response.get_json()["boolean"] is truth


def test_blank_nodes_and_booleans_read_as_the_embedded_store_gives_them(engine, reference):
    query = (
        "SELECT ?s ?first (EXISTS { ?s a ?c } AS ?typed) ?no WHERE { "
        "?s <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> ?first BIND(false AS ?no) }"
    )
    response = engine.get("/sparql", query_string={"query": query, "format": "json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    served = ox.parse_query_results(response.data, format=ox.QueryResultsFormat.JSON)
    expected = reference.query(query, use_default_graph_as_union=True)
    assert comparable_results(served) == comparable_results(expected)


def test_literals_keep_the_whitespace_at_their_ends(engine, reference):
    # Virtuoso is asked for XML results, whose literals pyoxigraph's parser reads trimmed; a
    # quote's prefix and suffix often begin or end with a space, and cite the text exactly.
    query = (
        "SELECT ?q ?x WHERE { ?q <http://www.w3.org/ns/oa#prefix>|<http://www.w3.org/ns/oa#suffix>"
        ' ?x FILTER(REGEX(?x, "^\\\\s|\\\\s$")) }'
    )
    expected = comparable_results(reference.query(query, use_default_graph_as_union=True))
    assert len(expected[1]) > 10  # the shipped quotes have such prefixes and suffixes
    response = engine.get("/sparql", query_string={"query": query, "format": "json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    served = ox.parse_query_results(response.data, format=ox.QueryResultsFormat.JSON)
    assert comparable_results(served) == expected


def test_virtuoso_is_asked_for_xml_results(virtuoso_server):
    """Virtuoso writes JSON results four times slower than XML (docs/remote-stores.md)."""
    backend = remote.RemoteBackend(virtuoso_server.endpoint)
    try:
        assert backend.query("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1").rows  # learns the engine
        assert backend.engine.startswith("Virtuoso")
        assert backend._results_type().startswith(remote.RESULTS_XML)
        result = backend.query("SELECT ?s ?o WHERE { ?s ?p ?o } LIMIT 3")
        assert len(result.rows) == 3 and all(row[0] is not None for row in result.rows)
    finally:
        backend.close()


PLACES = "https://w3id.org/zigraph/graph/reference/places"
DATASET_QUERIES = [
    f"SELECT (COUNT(*) AS ?n) FROM <{PLACES}> WHERE {{ ?s ?p ?o }}",
    f"SELECT (COUNT(*) AS ?n) FROM <{PLACES}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
    f"SELECT ?g (COUNT(*) AS ?n) FROM NAMED <{PLACES}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} "
    "GROUP BY ?g",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
]


@pytest.mark.parametrize("query", DATASET_QUERIES)
def test_from_and_graph_name_the_dataset(engine, reference, query):
    response = engine.get("/sparql", query_string={"query": query, "format": "json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    served = ox.parse_query_results(response.data, format=ox.QueryResultsFormat.JSON)
    assert comparable_results(served) == comparable_results(reference.query(query))


def test_every_entity_page_answers_with_its_data(engine, reference, shipped_dataset):
    entities = sorted(
        {
            q.subject.value
            for q in shipped_dataset.quads
            if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(ID_BASE)
        }
    )
    assert len(entities) > 50
    for iri in entities:
        path = iri[len(ID_BASE) :]
        page = engine.get(f"/doc/{path}", headers=HTML)
        assert page.status_code == 200, iri
        served = engine.get(f"/doc/{path}.nt")
        assert served.status_code == 200, iri
        expected = reference.query(
            f"CONSTRUCT {{ <{iri}> ?p ?o }} WHERE {{ <{iri}> ?p ?o }}",
            use_default_graph_as_union=True,
        )
        triples = {q.triple for q in ox.parse(served.data, format=ox.RdfFormat.N_TRIPLES)}
        outgoing = {(t.predicate, t.object) for t in triples if t.subject.value == iri}
        assert outgoing == {(t.predicate, t.object) for t in expected}, iri


def test_search_finds_the_agency(engine):
    page = parse(engine.get("/search", query_string={"q": "dpmptsp"}, headers=HTML).data)
    links = {a.attrs.get("href") for a in page.find_all("a")}
    assert "/doc/organisation/dpmptsp-kota-pekalongan" in links


def test_browse_lists_the_data_classes_only(engine, client):
    def listed(test_client) -> set[str]:
        response = test_client.get("/browse", headers=HTML)
        assert response.status_code == 200
        links = parse(response.data).find_all("a")
        return {a.attrs["href"] for a in links if "/browse/class" in a.attrs.get("href", "")}

    assert listed(engine) == listed(client)
    home = engine.get("/", headers=HTML).get_data(as_text=True)
    assert "virtrdf" not in home  # none of Virtuoso's own system classes


def test_dumps_hold_what_zigraph_export_writes(engine, shipped_dataset):
    response = engine.get("/download/zigraph.nq")
    assert response.status_code == 200
    served = canonical(ox.parse(response.data, format=ox.RdfFormat.N_QUADS))
    export = serialize_dataset(shipped_dataset.quads, FORMATS["nq"])  # as `zigraph export`
    exported = list(ox.parse(export, format=ox.RdfFormat.N_QUADS))
    assert served == canonical(exported)


@pytest.mark.parametrize("name", ["ontology", "shapes"])
def test_the_ontology_and_the_shapes_hold_their_graphs(engine, shipped_dataset, name):
    # Read with their graphs as the query's dataset: over a remote store, those graphs alone.
    response = engine.get(f"/{name}.nt")
    assert response.status_code == 200
    served = ox.parse(response.data, format=ox.RdfFormat.N_TRIPLES)
    prefix = f"https://w3id.org/zigraph/graph/{name}/"
    graphs = [q for q in shipped_dataset.quads if q.graph_name.value.startswith(prefix)]
    assert graphs
    default = ox.DefaultGraph()
    expected = {ox.Quad(q.subject, q.predicate, q.object, default) for q in graphs}
    assert canonical(ox.Quad(t.subject, t.predicate, t.object, default) for t in served) == (
        canonical(expected)
    )


def test_void_counts_the_data_only(engine, shipped_dataset):
    response = engine.get("/.well-known/void", headers={"Accept": "application/n-triples"})
    assert response.status_code == 200
    triples = list(ox.parse(response.data, format=ox.RdfFormat.N_TRIPLES))
    counts = [t.object.value for t in triples if t.predicate == ox.NamedNode(str(VOID.triples))]
    distinct = len({q.triple for q in shipped_dataset.quads})
    assert str(distinct) in counts


def test_healthz_reports_the_data(engine, shipped_dataset):
    response = engine.get("/healthz")
    assert response.status_code == 200
    health = response.get_json()
    assert health["status"] == "ok"
    assert health["triples"] == len(shipped_dataset.quads)


def test_validation_reports_the_served_data(engine):
    response = engine.get("/validation.json")
    assert response.status_code == 200
    report = response.get_json()
    assert report["conforms"], report["results"]


def test_service_clause_is_refused(engine):
    query = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"
    response = engine.get("/sparql", query_string={"query": query})
    assert response.status_code == 400


def test_runaway_query_is_stopped_at_the_time_limit(engine):
    response = engine.get("/sparql", query_string={"query": RUNAWAY})
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "query-timeout"


def test_virtuoso_extension_functions_are_refused(virtuoso_server):
    """Guard: no query makes Virtuoso open a connection (bif:http_get)."""
    listener = Listener()
    app = create_app({"TESTING": True, "ENDPOINT": virtuoso_server.endpoint})
    try:
        query = f'SELECT (bif:http_get("{listener.url}") AS ?x) WHERE {{ }}'
        response = app.test_client().get("/sparql", query_string={"query": query})
    finally:
        listener.close()
        backend = app.extensions.get("zigraph.store")
        if backend is not None:
            backend.close()
    assert listener.connections == 0
    assert response.status_code == 400


def test_a_facts_passages_are_only_those_of_the_facts_asked(engine, reference):
    # Virtuoso 7.2 joined the facts (a VALUES before a UNION whose branch binds ?passage, then
    # an OPTIONAL) with the first branch only: every passage of the store came back as a fact.
    from service.pages.entity import passages_query

    derived = "SELECT DISTINCT ?f WHERE { ?f <http://www.w3.org/ns/prov#wasDerivedFrom> ?p }"
    passage = "SELECT DISTINCT ?f WHERE { ?f <http://www.w3.org/ns/oa#hasSource> ?s }"
    union = {"use_default_graph_as_union": True}
    facts = sorted(row["f"].value for row in reference.query(derived + " LIMIT 3", **union))
    facts += sorted(row["f"].value for row in reference.query(passage + " LIMIT 1", **union))
    query = passages_query(facts)
    expected = comparable_results(reference.query(query, **union))
    with engine.application.app_context():
        answer = get_store().query(query)
    rows = [tuple(term_key(term) for term in row) for row in answer.rows]
    assert (answer.variables, sorted(rows)) == expected
    assert {row[0] for row in rows} == {f"<{fact}>" for fact in facts}
