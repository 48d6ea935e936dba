"""The SPARQL 1.1 Protocol at /sparql: query forms, result formats, negotiation, dataset."""

from __future__ import annotations

import csv
import io

import pyoxigraph as ox
import pytest
from rdflib.namespace import RDFS, SKOS
from rdflib.query import Result

from service import create_app
from service.namespaces import ID_BASE, SD
from tests.pagehtml import parse

PROLOGUE = f"PREFIX rdfs: <{RDFS}> PREFIX skos: <{SKOS}>"
SELECT_ALL = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
ASK = "ASK { ?s a <http://www.w3.org/ns/org#Organization> }"
CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
DESCRIBE = f"DESCRIBE <{ID_BASE}org-polres-batang>"
SAMPLE_GRAPH = "https://w3id.org/zigraph/graph/graph_data/sparql/sample"
EXTRA_GRAPH = "https://w3id.org/zigraph/graph/graph_data/sparql/extra"

RESULT_TYPES = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
RDFLIB_RESULT_FORMATS = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}


def solutions(response) -> list[dict[str, str]]:
    """Parse a results document by its media type into rows of variable to N-Triples term."""
    parsed = ox.parse_query_results(response.data, format=RESULT_TYPES[response.mimetype])
    return [
        {v.value: str(row[v]) for v in parsed.variables if row[v] is not None} for row in parsed
    ]


def triples(response) -> set[ox.Triple]:
    """Parse an RDF answer by its media type into triples."""
    parsed = ox.parse(response.data, format=GRAPH_TYPES[response.mimetype])
    return {q.triple for q in parsed}


def store_triples(client) -> set[ox.Triple]:
    response = client.get("/sparql", query_string={"query": CONSTRUCT, "format": "nt"})
    return triples(response)


def test_select_by_get_post_form_and_post_body_agree(sample_client):
    by_get = sample_client.get("/sparql", query_string={"query": SELECT_ALL})
    by_form = sample_client.post("/sparql", data={"query": SELECT_ALL})
    by_body = sample_client.post(
        "/sparql", data=SELECT_ALL.encode(), content_type="application/sparql-query"
    )
    assert by_get.status_code == by_form.status_code == by_body.status_code == 200
    rows = solutions(by_get)
    assert len(rows) == len(store_triples(sample_client))
    assert rows == solutions(by_form) == solutions(by_body)


@pytest.mark.parametrize("media_type", list(RESULT_TYPES))
def test_select_results_parse_back_in_every_format(sample_client, media_type):
    expected = solutions(sample_client.get("/sparql", query_string={"query": SELECT_ALL}))
    response = sample_client.get(
        "/sparql", query_string={"query": SELECT_ALL}, headers={"Accept": media_type}
    )
    assert response.status_code == 200
    assert response.mimetype == media_type
    if media_type == "text/csv":  # CSV keeps lexical forms only; oxigraph will not read it
        table = list(csv.reader(io.StringIO(response.data.decode(), newline="")))
        assert table[0] == ["s", "p", "o"]
        assert len(table) - 1 == len(expected)
        assert response.data.endswith(b"\r\n")
        return
    parsed = ox.parse_query_results(response.data, format=RESULT_TYPES[media_type])
    assert [v.value for v in parsed.variables] == ["s", "p", "o"]
    assert sorted(map(sorted, (r.items() for r in solutions(response)))) == sorted(
        map(sorted, (r.items() for r in expected))
    )


@pytest.mark.parametrize("media_type", list(RDFLIB_RESULT_FORMATS))
def test_select_results_are_read_by_rdflib(sample_client, media_type):
    response = sample_client.get(
        "/sparql",
        query_string={
            "query": f"{PROLOGUE} SELECT ?label WHERE {{ ?s rdfs:comment ?label }}",
        },
        headers={"Accept": media_type},
    )
    result = Result.parse(io.BytesIO(response.data), format=RDFLIB_RESULT_FORMATS[media_type])
    labels = [str(row[0]) for row in result]
    assert labels == ['A label with a tab\there, a "quote", a comma, and\na new line']


@pytest.mark.parametrize(
    "media_type", ["application/sparql-results+json", "application/sparql-results+xml"]
)
def test_ask_answers_a_boolean(sample_client, media_type):
    for query, expected in ((ASK, True), ("ASK { ?s ?p <urn:nothing> }", False)):
        response = sample_client.get(
            "/sparql", query_string={"query": query}, headers={"Accept": media_type}
        )
        parsed = ox.parse_query_results(response.data, format=RESULT_TYPES[media_type])
        assert bool(parsed) is expected


def test_ask_in_csv_is_not_acceptable(sample_client):
    response = sample_client.get(
        "/sparql", query_string={"query": ASK}, headers={"Accept": "text/csv"}
    )
    assert response.status_code == 406
    assert response.mimetype == "text/plain"  # the error speaks the client's (text) language
    assert "application/sparql-results+json" in response.data.decode()


@pytest.mark.parametrize("media_type", list(GRAPH_TYPES))
@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE])
def test_construct_and_describe_in_every_rdf_format(sample_client, media_type, query):
    expected = triples(sample_client.get("/sparql", query_string={"query": query, "format": "nt"}))
    assert expected
    response = sample_client.get(
        "/sparql", query_string={"query": query}, headers={"Accept": media_type}
    )
    assert response.status_code == 200
    assert response.mimetype == media_type
    got = triples(response)
    if any(
        isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in expected
    ):
        assert len(got) == len(expected)
    else:
        assert got == expected


def test_describe_answers_the_resource(sample_client):
    got = triples(sample_client.get("/sparql", query_string={"query": DESCRIBE, "format": "ttl"}))
    assert {t.subject.value for t in got} == {f"{ID_BASE}org-polres-batang"}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
        ("text/*;q=0.9, application/sparql-results+json;q=0.1", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("*/*", "application/sparql-results+json"),
        ("application/json", "application/json"),
    ],
)
def test_accept_header_with_q_values_and_wildcards(sample_client, accept, expected):
    response = sample_client.get(
        "/sparql", query_string={"query": SELECT_ALL}, headers={"Accept": accept}
    )
    assert response.status_code == 200
    assert response.mimetype == expected
    assert "Accept" in response.vary


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("json", "application/sparql-results+json"),
        ("xml", "application/sparql-results+xml"),
        ("csv", "text/csv"),
        ("tsv", "text/tab-separated-values"),
    ],
)
def test_format_parameter_overrides_accept(sample_client, name, media_type):
    response = sample_client.get(
        "/sparql",
        query_string={"query": SELECT_ALL, "format": name},
        headers={"Accept": "text/turtle"},
    )
    assert response.mimetype == media_type


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("ttl", "text/turtle"),
        ("jsonld", "application/ld+json"),
        ("nt", "application/n-triples"),
        ("xml", "application/rdf+xml"),
        ("rdf", "application/rdf+xml"),
        ("trig", "application/trig"),
        ("nq", "application/n-quads"),
    ],
)
def test_format_parameter_names_rdf_formats(sample_client, name, media_type):
    response = sample_client.get("/sparql", query_string={"query": CONSTRUCT, "format": name})
    assert response.mimetype == media_type
    assert triples(response)


def test_nothing_acceptable_lists_the_offered_types(sample_client):
    response = sample_client.get(
        "/sparql",
        query_string={"query": SELECT_ALL},
        headers={"Accept": "image/png, application/json;q=0"},
    )
    assert response.status_code == 406
    body = response.get_json()
    assert body["error"] == "not-acceptable"
    assert "text/csv" in body["offered"]
    unknown = sample_client.get("/sparql", query_string={"query": SELECT_ALL, "format": "png"})
    assert unknown.status_code == 406


def test_truncated_answers_are_flagged(sample_store_dir):
    app = create_app({"TESTING": True, "STORE_DIR": str(sample_store_dir), "RESULT_LIMIT": 3})
    try:
        client = app.test_client()
        capped = client.get("/sparql", query_string={"query": SELECT_ALL})
        assert len(solutions(capped)) == 3
        assert capped.headers["X-Zigraph-Result-Truncated"] == "true"
        assert capped.headers["X-Zigraph-Result-Limit"] == "3"
        assert "/download/zigraph.nq" in capped.headers["Link"]
        whole = client.get("/sparql", query_string={"query": SELECT_ALL + " LIMIT 3"})
        assert "X-Zigraph-Result-Truncated" not in whole.headers
    finally:
        app.extensions["zigraph.store"].close()


def test_default_graph_is_the_union_of_named_graphs(sample_client):
    query = f"{PROLOGUE} SELECT ?alt WHERE {{ <{ID_BASE}org-kota-pekalongan> skos:altLabel ?alt }}"
    assert len(solutions(sample_client.get("/sparql", query_string={"query": query}))) == 1
    only_sample = sample_client.get(
        "/sparql", query_string={"query": query, "default-graph-uri": SAMPLE_GRAPH}
    )
    assert solutions(only_sample) == []
    only_extra = sample_client.get(
        "/sparql", query_string={"query": query, "default-graph-uri": EXTRA_GRAPH}
    )
    assert len(solutions(only_extra)) == 1


def test_from_clauses_choose_graphs_of_the_store(sample_client):
    count = "SELECT (COUNT(*) AS ?n) {FROM} WHERE {{ ?s ?p ?o }}"

    def n(from_clause: str) -> int:
        query = count.replace("{FROM}", from_clause).replace("{{", "{").replace("}}", "}")
        response = sample_client.get("/sparql", query_string={"query": query})
        assert response.status_code == 200, response.data
        return int(solutions(response)[0]["n"].split('"')[1])

    everything = n("")
    assert n(f"FROM <{EXTRA_GRAPH}>") == 1
    assert n(f"FROM <{SAMPLE_GRAPH}>") == everything - 1
    named = sample_client.get(
        "/sparql",
        query_string={
            "query": f"SELECT DISTINCT ?g FROM NAMED <{EXTRA_GRAPH}> "
            "WHERE { GRAPH ?g { ?s ?p ?o } }"
        },
    )
    assert [r["g"] for r in solutions(named)] == [f"<{EXTRA_GRAPH}>"]


def test_named_graph_uri_limits_graph_patterns(sample_client):
    response = sample_client.get(
        "/sparql",
        query_string={
            "query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
            "named-graph-uri": SAMPLE_GRAPH,
        },
    )
    assert [r["g"] for r in solutions(response)] == [f"<{SAMPLE_GRAPH}>"]


@pytest.mark.parametrize(
    "media_type", ["text/turtle", "application/ld+json", "application/n-triples"]
)
def test_service_description_without_a_query(sample_client, media_type):
    response = sample_client.get("/sparql", headers={"Accept": media_type})
    assert response.status_code == 200
    graph = {(t.subject, t.predicate, t.object) for t in triples(response)}
    service = ox.NamedNode("http://127.0.0.1:5000/sparql")
    assert (service, ox.NamedNode(SD.endpoint), service) in graph
    assert (service, ox.NamedNode(SD.feature), ox.NamedNode(SD.UnionDefaultGraph)) in graph
    names = {o.value for s, p, o in graph if p == ox.NamedNode(SD.name)}
    assert names == {SAMPLE_GRAPH, EXTRA_GRAPH}


def test_cors_headers_and_preflight(sample_client):
    response = sample_client.get("/sparql", query_string={"query": ASK})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Zigraph-Result-Truncated" in response.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    preflight = sample_client.options(
        "/sparql",
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_browsers_get_the_query_page_and_programs_the_results(sample_client):
    browser = sample_client.get(
        "/sparql", query_string={"query": ASK}, headers={"Accept": BROWSER_ACCEPT}
    )
    assert browser.status_code == 200 and browser.mimetype == "text/html"
    assert "Accept" in browser.vary
    assert "ASK" in parse(browser.data).find("textarea").text()  # the query, on the query page
    program = sample_client.get("/sparql", query_string={"query": ASK}, headers={"Accept": "*/*"})
    assert program.mimetype == "application/sparql-results+json"
