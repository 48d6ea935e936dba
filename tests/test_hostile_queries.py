"""Hostile queries make no outbound connection: embedded store, Oxigraph server, Virtuoso.

A listener on loopback stands for "some other host": it records every connection made to it.
Two layers are tested apart: the parser refuses every query below (the only layer in
front of a remote store), and the evaluators of the embedded store cannot connect even when
a query is handed to them without any check (the layer that does not depend on parsing).
"""

from __future__ import annotations

import time

import pytest
from rdflib.namespace import XSD

from service import create_app
from service.store import embedded, request_deadline
from service.urls import public_url
from tests.stores import Listener

JSON = {"Accept": "application/sparql-results+json, application/json;q=0.9"}


@pytest.fixture
def listener():
    listening = Listener()
    yield listening
    listening.close()


def hostile_queries(url: str) -> dict[str, str]:
    """Return queries that try to make the engine connect to ``url``, by name."""
    escaped_url = url.replace("s", "\\u0073")
    return {
        "service": f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "service-lower-case-silent": f"select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        "service-in-sub-select": (
            f"SELECT * WHERE {{ {{ SELECT ?s WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}"
        ),
        "service-in-exists": (
            f"SELECT * WHERE {{ ?s ?p ?o FILTER EXISTS {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}"
        ),
        "service-in-bind-exists": (
            f"SELECT ?e WHERE {{ BIND(EXISTS {{ SERVICE <{url}> {{ ?a ?b ?c }} }} AS ?e) }}"
        ),
        "service-with-a-variable": (
            f"SELECT * WHERE {{ VALUES ?endpoint {{ <{url}> }} SERVICE ?endpoint {{ ?s ?p ?o }} }}"
        ),
        "service-after-a-prefix": (
            f"PREFIX e: <{url}#> SELECT * WHERE {{ SERVICE e: {{ ?s ?p ?o }} }}"
        ),
        # Read with SPARQL's escape rule the SERVICE clause sits inside a long string; read as
        # Oxigraph reads it (escapes only within strings) it is live, between two comments.
        "escaped-newline-in-comments": (
            'SELECT * WHERE { ?s ?p ?o . #\\u000A""" ?p2 ?o2 .\n'
            f"SERVICE <{url}> {{ ?a ?b ?c }}\n"
            '#\\u000A""" ?p3 ?o3 \n}'
        ),
        # The other way round: escaped quotes open and close a string only in the escaped reading.
        "escaped-quotes": (
            'SELECT * WHERE { ?s ?p ?o FILTER(?o != "x\\u0022") '
            f"SERVICE <{url}> {{ ?a ?b ?c }} "
            'FILTER(?o != "\\u0022y") }'
        ),
        "escaped-keyword": f"SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
        "escaped-letters-in-iri": f"SELECT * WHERE {{ SERVICE <{escaped_url}> {{}} }}",
        "from-the-web": f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
        "from-named-the-web": f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "virtuoso-http-get": f'SELECT (bif:http_get("{url}") AS ?page) WHERE {{}}',
        "virtuoso-http-get-declared": (
            f'PREFIX bif: <bif:> SELECT (bif:http_get("{url}") AS ?page) WHERE {{}}'
        ),
        "virtuoso-sponger-pragma": f'DEFINE get:soft "replace" SELECT * FROM <{url}> WHERE {{}}',
        "extension-function-iri": f'SELECT (<{url}>("x") AS ?x) WHERE {{}}',
        "load-update": f"LOAD <{url}>",
    }


NAMES = sorted(hostile_queries("http://127.0.0.1:9/sparql"))


@pytest.fixture(params=["embedded", "oxigraph", "virtuoso"])
def hostile_target(request, store_dir):
    """Yield an application over each backend: the embedded store and two real servers."""
    if request.param == "embedded":
        config = {"STORE_DIR": str(store_dir)}
    else:
        config = {"ENDPOINT": request.getfixturevalue(f"{request.param}_server").endpoint}
    app = create_app({"TESTING": True, **config})
    yield app
    if app.extensions["zigraph.store"] is not None:
        app.extensions["zigraph.store"].close()


@pytest.mark.parametrize("name", NAMES)
def test_hostile_query_is_refused_and_connects_nowhere(hostile_target, listener, name):
    client = hostile_target.test_client()
    sparql = hostile_queries(listener.url)[name]
    for method in ("get", "post"):
        if method == "get":
            response = client.get("/sparql", query_string={"query": sparql}, headers=JSON)
        else:
            response = client.post("/sparql", data={"query": sparql}, headers=JSON)
        assert response.status_code in (400, 403), (name, response.status_code, response.data)
        assert response.get_json()["error"] in ("query-refused", "read-only", "query-syntax")
    page = client.get("/query", query_string={"query": sparql})
    assert page.status_code in (400, 403)
    time.sleep(0.2)
    assert listener.connections == 0
    answered = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"}, headers=JSON)
    assert answered.status_code == 200
    assert answered.get_json()["boolean"] is True


def misread_queries(url: str) -> dict[str, str]:
    """Return queries that a lexer and a store's parser read differently, by name.

    Each one made a store connect to ``url`` through zigraph when only the old lexer stood in
    front of it (issue 15): Virtuoso for the comment and string families, the Oxigraph server
    for SERVICE glued to a prefixed name.
    """
    return {
        # SPARQL ends a comment at CR or LF, Virtuoso only at LF: the PREFIX line that makes
        # bif: the XSD namespace (a cast) for one reader is a comment for the other.
        "comment-ended-by-cr-hides-a-prefix": (
            f'# note\rPREFIX bif: <{XSD}>\nSELECT (bif:http_get("{url}") AS ?page) WHERE {{}}'
        ),
        "comment-ended-by-cr-hides-a-prefix-in-a-group": (
            f"SELECT ?page WHERE {{ # note\rPREFIX bif: <{XSD}>\n"
            f'BIND(bif:http_get("{url}") AS ?page) }}'
        ),
        # Virtuoso takes a raw CR and the escapes \a and \v inside a string, SPARQL does not:
        # where one reader's string ends, the other's starts, around the bif:http_get call.
        "raw-cr-in-a-single-quoted-string": (
            f"SELECT ?page WHERE {{ BIND('\r' AS ?a) "
            f"BIND(bif:http_get(\"{url}\") AS ?page) FILTER(?a != '') }}"
        ),
        "raw-cr-in-a-double-quoted-string": (
            f'SELECT ?page WHERE {{ BIND("\r" AS ?a) '
            f"BIND(bif:http_get('{url}') AS ?page) FILTER(?a != \"\") }}"
        ),
        "bell-escape-in-a-string": (
            f'SELECT ?page WHERE {{ BIND("\\a" AS ?a) '
            f"BIND(bif:http_get('{url}') AS ?page) FILTER(?a != \"\") }}"
        ),
        "vertical-tab-escape-in-a-string": (
            f'SELECT ?page WHERE {{ BIND("\\vALUES" AS ?a) '
            f"BIND(bif:http_get('{url}') AS ?page) FILTER(?a != \"\") }}"
        ),
        "bell-escape-in-a-long-string": (
            f'SELECT ?page WHERE {{ BIND("""\\a""" AS ?a) '
            f'BIND(bif:http_get(\'{url}\') AS ?page) FILTER(?a != """""") }}'
        ),
        # One prefixed name to a longest-match lexer; SERVICE, then e:x, to a PEG parser.
        "service-glued-to-a-prefixed-name": (
            f"PREFIX e: <{url}#> SELECT * WHERE {{ SERVICEe:x {{ ?s ?p ?o }} }}"
        ),
        "service-glued-to-the-empty-prefix": (
            f"PREFIX : <{url}#> SELECT * WHERE {{ SERVICE:x {{ ?s ?p ?o }} }}"
        ),
        "service-silent-glued-to-a-prefixed-name": (
            f"PREFIX e: <{url}#> SELECT * WHERE {{ SERVICESILENTe:x {{ ?s ?p ?o }} }}"
        ),
    }


MISREAD = sorted(misread_queries("http://127.0.0.1:9/sparql"))


@pytest.mark.parametrize("name", MISREAD)
def test_misread_query_connects_nowhere(hostile_target, listener, name):
    """Refuse or answer a query that two readers split differently, and connect nowhere."""
    client = hostile_target.test_client()
    sparql = misread_queries(listener.url)[name]
    responses = [
        client.get("/sparql", query_string={"query": sparql}, headers=JSON),
        client.post("/sparql", data={"query": sparql}, headers=JSON),
        client.get("/query", query_string={"query": sparql}),
    ]
    time.sleep(0.2)
    assert listener.connections == 0, name
    # Read as SPARQL each is a syntax error or calls a function no engine has: refused, or
    # answered if a rewrite made it harmless; never handed to a store that then fails on it.
    for response in responses:
        assert response.status_code in (200, 400, 403), (name, response.data[:300])


@pytest.mark.parametrize("isolation", ["netns", "seccomp"])
def test_unchecked_service_query_cannot_connect_from_an_evaluator(store_dir, listener, isolation):
    app = create_app({"TESTING": True, "STORE_DIR": str(store_dir)})
    backend = embedded.EmbeddedBackend(store_dir, isolation=isolation)
    try:
        with app.app_context():
            # Straight to an evaluator, past the parser, as a parser bug would let it through.
            result = backend.client_pool.run(
                embedded.run_query,
                request_deadline(),
                sparql=f"SELECT * WHERE {{ SERVICE SILENT <{listener.url}> {{ ?s ?p ?o }} }}",
            )
        assert result.kind == "bindings"
        time.sleep(0.2)
        assert listener.connections == 0
    finally:
        backend.close()


def test_without_isolation_the_same_query_does_connect(store_dir, listener):
    """The listener sees what an unisolated engine does: the tests above can fail."""
    app = create_app({"TESTING": True, "STORE_DIR": str(store_dir)})
    backend = embedded.EmbeddedBackend(store_dir, isolation="none")
    try:
        with app.app_context():
            backend.client_pool.run(
                embedded.run_query,
                request_deadline(),
                sparql=f"SELECT * WHERE {{ SERVICE SILENT <{listener.url}> {{ ?s ?p ?o }} }}",
            )
        assert listener.connections >= 1
    finally:
        backend.close()


def test_unknown_function_is_a_400_not_a_500(client):
    response = client.get(
        "/sparql",
        query_string={"query": "SELECT * WHERE { ?s ?p ?o FILTER(<http://example.org/f>(?o)) }"},
        headers=JSON,
    )
    assert response.status_code == 400
    assert response.get_json()["reason"] == "function"


def test_codepoint_past_unicode_is_a_400_not_a_500(client):
    response = client.get(
        "/sparql", query_string={"query": 'SELECT * WHERE { ?s ?p "\\U00110000" }'}, headers=JSON
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "query-syntax"


@pytest.mark.slow
def test_flat_query_of_16000_patterns_is_not_called_too_deep(client):
    patterns = " ".join(f"?s <urn:p{i}> ?o{i} ." for i in range(16000))  # 370 kB
    response = client.post(
        "/sparql", data={"query": f"SELECT ?s WHERE {{ {patterns} }}"}, headers=JSON
    )
    assert response.status_code in (200, 503), response.data[:300]  # never a crashed 500
    if response.status_code == 503:
        assert response.get_json()["error"] == "query-timeout"


def test_xsd_casts_and_standard_functions_are_answered(client):
    sparql = (
        "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> "
        'SELECT (xsd:integer("7") AS ?n) (STRLEN(LCASE("ABC")) AS ?l) WHERE {}'
    )
    response = client.get("/sparql", query_string={"query": sparql}, headers=JSON)
    assert response.status_code == 200
    (row,) = response.get_json()["results"]["bindings"]
    assert row["n"]["value"] == "7" and row["l"]["value"] == "3"


def test_refusals_are_decided_once(client):
    from service import querysafety

    sparql = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } # once"
    for _ in range(2):
        response = client.get("/sparql", query_string={"query": sparql}, headers=JSON)
        assert response.status_code == 400
    with client.application.test_request_context():
        base = public_url("sparql.query")
    assert isinstance(querysafety.decided(sparql, base), tuple)  # the refusal, kept as data
