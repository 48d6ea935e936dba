"""The answer cache of /sparql: repeated queries, conditional requests, errors never kept."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from service import create_app, dataset
from service.answer_cache import Answer, AnswerCache, AnswerKey
from service.cli import cli
from service.store import building

SELECT_ALL = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
ASK = "ASK { ?s ?p ?o }"
SAMPLE_GRAPH = "https://w3id.org/zigraph/graph/graph_data/sparql/sample"
CACHE = "X-Zigraph-Cache"


def ask(client, query: str = SELECT_ALL, headers: dict | None = None, **parameters):
    return client.get("/sparql", query_string={"query": query, **parameters}, headers=headers)


@pytest.fixture
def make_app(sample_store_dir: Path):
    """Return a factory of applications over the small test dataset; close them afterwards."""
    made = []

    def make(**config):
        app = create_app({"TESTING": True, "STORE_DIR": str(sample_store_dir), **config})
        made.append(app)
        return app

    yield make
    for app in made:
        if app.extensions.get("zigraph.store") is not None:
            app.extensions["zigraph.store"].close()


def test_repeated_query_is_a_hit_with_the_same_bytes(sample_client):
    first = ask(sample_client)
    second = ask(sample_client)
    assert first.status_code == second.status_code == 200
    assert (first.headers[CACHE], second.headers[CACHE]) == ("miss", "hit")
    assert second.data == first.data
    for header in ("Content-Type", "ETag", "Cache-Control", "Vary"):
        assert second.headers[header] == first.headers[header]
    assert first.cache_control.public and first.cache_control.max_age == 3600
    assert CACHE in first.headers["Access-Control-Expose-Headers"]


def test_post_answers_share_the_cache_and_carry_the_etag(sample_client):
    by_get = ask(sample_client)
    by_form = sample_client.post("/sparql", data={"query": SELECT_ALL})
    by_body = sample_client.post(
        "/sparql", data=SELECT_ALL.encode(), content_type="application/sparql-query"
    )
    assert by_form.headers[CACHE] == by_body.headers[CACHE] == "hit"
    assert by_get.headers["ETag"] == by_form.headers["ETag"] == by_body.headers["ETag"]
    assert by_get.data == by_form.data == by_body.data


@pytest.mark.parametrize(
    "variant",
    [
        {"headers": {"Accept": "text/csv"}},
        {"format": "xml"},
        {"default-graph-uri": SAMPLE_GRAPH},
        {"named-graph-uri": SAMPLE_GRAPH},
        {"query": SELECT_ALL + " "},
        {"query": SELECT_ALL.replace("?o", "?object")},
    ],
    ids=["accept", "format", "default-graph-uri", "named-graph-uri", "spacing", "query"],
)
def test_every_part_of_the_key_tells_answers_apart(sample_client, variant):
    original = ask(sample_client)
    other = ask(sample_client, **{"query": SELECT_ALL, **variant})
    assert other.status_code == 200
    assert other.headers[CACHE] == "miss"
    assert other.headers["ETag"] != original.headers["ETag"]
    assert ask(sample_client, **{"query": SELECT_ALL, **variant}).headers[CACHE] == "hit"
    assert ask(sample_client).headers[CACHE] == "hit"


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("SELECT ?s WHERE { ?s ?p }", 400, "query-syntax"),
        ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", 400, "query-refused"),
        ("SELECT * FROM <urn:no-such-graph> WHERE { ?s ?p ?o }", 400, "query-refused"),
    ],
    ids=["syntax", "service", "unknown-graph"],
)
def test_refused_queries_are_never_cached(sample_client, query, status, code):
    for _ in range(2):
        refused = ask(sample_client, query)
        assert refused.status_code == status
        assert refused.get_json()["error"] == code
        assert CACHE not in refused.headers
        assert "ETag" not in refused.headers
    assert ask(sample_client, ASK).headers[CACHE] == "miss"
    assert ask(sample_client, ASK).headers[CACHE] == "hit"


def test_truncation_headers_come_back_with_a_hit(make_app):
    client = make_app(RESULT_LIMIT=3).test_client()
    first, second = ask(client), ask(client)
    assert second.headers[CACHE] == "hit"
    for header in ("X-Zigraph-Result-Truncated", "X-Zigraph-Result-Limit", "Link"):
        assert second.headers[header] == first.headers[header]


# A cross product of three copies of every triple: far longer than the time limit.
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def slow_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a store of 3000 triples, on which SLOW_QUERY runs for hours."""
    graph = "https://w3id.org/zigraph/graph/test/many"
    quads = [
        ox.Quad(
            ox.NamedNode(f"https://w3id.org/zigraph/id/thing-{i}"),
            ox.NamedNode(f"https://w3id.org/zigraph/ontology#p{i % 7}"),
            ox.Literal(str(i)),
            ox.NamedNode(graph),
        )
        for i in range(3000)
    ]
    path = tmp_path_factory.mktemp("slow")
    (path / "data").mkdir()
    ox.serialize(quads, str(path / "data" / "many.nq"), format=ox.RdfFormat.N_QUADS)
    building.build_store(dataset.selected_files([path / "data"]), path / "store")
    return path / "store"


def test_timed_out_query_is_never_cached(slow_store):
    app = create_app({"TESTING": True, "STORE_DIR": str(slow_store), "QUERY_TIMEOUT": 1.0})
    try:
        client = app.test_client()
        for _ in range(2):
            stopped = ask(client, SLOW_QUERY)
            assert stopped.status_code == 503
            assert stopped.get_json()["error"] == "query-timeout"
            assert CACHE not in stopped.headers
        assert ask(client, ASK).headers[CACHE] == "miss"
        assert ask(client, ASK).get_json()["boolean"] is True
    finally:
        app.extensions["zigraph.store"].close()


def test_if_none_match_answers_304_without_evaluating(make_app):
    etag = ask(make_app().test_client()).headers["ETag"]
    app = make_app()  # another web process: empty cache, no evaluator started
    client = app.test_client()
    revalidated = ask(client, headers={"If-None-Match": etag})
    assert revalidated.status_code == 304
    assert revalidated.data == b""
    assert revalidated.headers["ETag"] == etag
    assert "Accept" in revalidated.vary
    assert app.extensions["zigraph.store"].pids() == []
    assert ask(client, headers={"If-None-Match": '"another"'}).status_code == 200
    posted = client.post("/sparql", data={"query": SELECT_ALL}, headers={"If-None-Match": etag})
    assert posted.status_code == 200
    assert posted.headers["ETag"] == etag


def test_answers_larger_than_an_eighth_of_the_budget_are_not_kept(make_app):
    client = make_app(RESULT_CACHE_MB=0.01).test_client()  # 10 kB: answers up to 1.3 kB
    assert len(ask(client).data) > 0.01 * 2**20 / 8
    assert [ask(client).headers[CACHE] for _ in range(2)] == ["miss", "miss"]
    assert [ask(client, ASK).headers[CACHE] for _ in range(2)] == ["miss", "hit"]


def test_tiny_budget_forgets_the_oldest_answers(make_app):
    app = make_app(RESULT_CACHE_MB=0.01)
    client = app.test_client()
    queries = [f"ASK {{ ?s ?p {i} }}" for i in range(60)]  # about 250 bytes each
    for query in queries:
        assert ask(client, query).headers[CACHE] == "miss"
    assert app.extensions["zigraph.answers"].size <= 0.01 * 2**20
    assert ask(client, queries[-1]).headers[CACHE] == "hit"
    assert ask(client, queries[0]).headers[CACHE] == "miss"


def test_least_recently_used_answer_goes_first():
    def key(n: int) -> AnswerKey:
        return AnswerKey("v1", None, f"ASK {{ ?s ?p {n:03} }}", (), (), "application/json")

    answer = Answer(b'{"head": {}, "boolean": true}', "application/json")
    probe = AnswerCache(2**20)
    probe.put(key(0), answer)
    cache = AnswerCache(8 * probe.size)  # room for eight answers, each the largest allowed
    for n in range(8):
        cache.put(key(n), answer)
    assert cache.get(key(0)) is answer  # now the most recently used
    cache.put(key(8), answer)
    assert len(cache) == 8
    assert cache.get(key(1)) is None
    assert cache.get(key(0)) is answer
    assert cache.get(key(8)) is answer


def test_zero_budget_disables_the_cache_but_not_revalidation(make_app):
    client = make_app(RESULT_CACHE_MB=0).test_client()
    first, second = ask(client), ask(client)
    assert (first.headers[CACHE], second.headers[CACHE]) == ("miss", "miss")
    assert second.data == first.data
    assert ask(client, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


@pytest.fixture(scope="module")
def remote_endpoint(tmp_path_factory):
    """Run oxigraph serve loaded with the shipped data; always stop it."""
    from tests.test_remote_store import OxigraphServer

    server = OxigraphServer(tmp_path_factory.mktemp("oxigraph"))
    server.start()
    try:
        pushed = CliRunner().invoke(cli, ["push", "--graph-store", server.base + "/store"])
        assert pushed.exit_code == 0, pushed.output
        yield server.base + "/query"
    finally:
        server.stop()


def test_remote_answers_are_kept_per_version_of_the_record_push_wrote(remote_endpoint):
    client = create_app({"TESTING": True, "ENDPOINT": remote_endpoint}).test_client()
    first, second = ask(client, ASK), ask(client, ASK)
    assert (first.headers[CACHE], second.headers[CACHE]) == ("miss", "hit")
    assert first.headers["ETag"] == second.headers["ETag"]
    revalidated = ask(client, ASK, headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 304


def test_without_a_record_remote_answers_are_never_cached_and_revalidate_by_their_bytes(
    remote_endpoint,
):
    import requests

    from service.store.remote import RECORD_GRAPH

    # Data loaded by other means than zigraph push has no record, hence no version to key on.
    store = remote_endpoint.rsplit("/", 1)[0] + "/store"
    assert requests.delete(store, params={"graph": RECORD_GRAPH}, timeout=30).status_code < 300
    client = create_app({"TESTING": True, "ENDPOINT": remote_endpoint}).test_client()
    first, second = ask(client, ASK), ask(client, ASK)
    assert (first.headers[CACHE], second.headers[CACHE]) == ("miss", "miss")
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.cache_control.no_cache
    revalidated = ask(client, ASK, headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.data == b""
