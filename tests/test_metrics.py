"""``/metrics``: the Prometheus text, read with prometheus-client's own parser."""

from __future__ import annotations

import os
import signal

import pytest
from prometheus_client.parser import text_string_to_metric_families

JSON_RESULTS = {"Accept": "application/sparql-results+json"}
OUTSIDE = {"REMOTE_ADDR": "10.1.2.3"}


def scrape(client) -> dict:
    """Return the samples of ``/metrics`` by family name: a list of (name, labels, value)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    families = text_string_to_metric_families(response.get_data(as_text=True))
    return {f.name: [(s.name, s.labels, s.value) for s in f.samples] for f in families}


def value(samples: dict, family: str, sample: str, **labels: str) -> float:
    """Return the value of one sample (0 when it is not there yet)."""
    for name, found, number in samples.get(family, []):
        if name == sample and all(found.get(k) == v for k, v in labels.items()):
            return number
    return 0.0


def test_a_request_is_counted_under_its_route_and_status_class(client):
    before = scrape(client)
    assert client.get("/healthz").status_code == 200
    after = scrape(client)
    count = "zigraph_request_seconds_count"
    labels = {"route": "health.healthz", "status": "2xx"}
    assert value(after, "zigraph_request_seconds", count, **labels) == (
        value(before, "zigraph_request_seconds", count, **labels) + 1
    )


def test_the_route_label_is_the_endpoint_never_the_path(client):
    client.get("/doc/no-such-thing-1")
    client.get("/no/such/path/2")
    routes = {labels["route"] for _, labels, _ in scrape(client)["zigraph_request_seconds"]}
    assert not [r for r in routes if "/" in r]
    assert "unmatched" in routes


def test_every_series_names_the_worker_that_answered(client):
    client.get("/healthz")
    samples = [s for family in scrape(client).values() for s in family]
    assert samples
    assert {labels.get("worker") for _, labels, _ in samples} == {str(os.getpid())}


def test_a_query_refused_by_the_parser_is_counted_with_its_reason(client):
    family, sample = "zigraph_error_answers", "zigraph_error_answers_total"
    labels = {"code": "query-refused", "reason": "service"}
    before = value(scrape(client), family, sample, **labels)
    query = "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"
    response = client.get("/sparql", query_string={"query": query}, headers=JSON_RESULTS)
    assert response.status_code == 400
    assert value(scrape(client), family, sample, **labels) == before + 1


def test_a_syntax_error_is_counted(client):
    family, sample = "zigraph_error_answers", "zigraph_error_answers_total"
    before = value(scrape(client), family, sample, code="query-syntax")
    response = client.get("/sparql", query_string={"query": "SELEKT"}, headers=JSON_RESULTS)
    assert response.status_code == 400
    assert value(scrape(client), family, sample, code="query-syntax") == before + 1


def test_an_answer_cache_hit_is_counted(client):
    family, sample = "zigraph_answer_cache_lookups", "zigraph_answer_cache_lookups_total"
    query = {"query": "ASK { ?s a ?class } # test_an_answer_cache_hit_is_counted"}
    before = scrape(client)
    states = [
        client.get("/sparql", query_string=query, headers=JSON_RESULTS).headers["X-Zigraph-Cache"]
        for _ in range(2)
    ]
    assert states == ["miss", "hit"]
    after = scrape(client)
    for result in ("hit", "miss"):
        assert value(after, family, sample, result=result) == (
            value(before, family, sample, result=result) + 1
        )


def test_the_lanes_and_the_data_version_are_read_when_scraped(client):
    client.get("/healthz")  # opens the store
    samples = scrape(client)
    lanes = {labels["lane"] for _, labels, _ in samples["zigraph_lane_slots"]}
    assert lanes == {"service", "client"}
    assert value(samples, "zigraph_lane_waiting", "zigraph_lane_waiting", lane="client") == 0
    version = client.get("/healthz").get_json()["version"]
    assert value(samples, "zigraph_data_info", "zigraph_data_info", version=version) == 1


def test_metrics_are_not_kept_by_caches(client):
    assert client.get("/metrics").cache_control.no_store


def test_metrics_are_hidden_from_other_addresses(client):
    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.8.9.10"}).status_code == 200


@pytest.fixture
def public_app(store_dir, shipped_backend):
    from service import create_app

    application = create_app({"TESTING": True, "STORE_DIR": str(store_dir), "METRICS_PUBLIC": True})
    application.extensions["zigraph.store"] = shipped_backend
    yield application


def test_the_setting_opens_metrics_to_every_address(public_app):
    assert public_app.test_client().get("/metrics", environ_base=OUTSIDE).status_code == 200


def test_behind_a_proxy_the_forwarded_address_decides(store_dir, shipped_backend):
    from service import create_app

    application = create_app({"TESTING": True, "STORE_DIR": str(store_dir), "PROXY_HOPS": 1})
    application.extensions["zigraph.store"] = shipped_backend
    client = application.test_client()
    forwarded = {"X-Forwarded-For": "10.1.2.3"}  # the proxy runs here, its client does not
    assert client.get("/metrics", headers=forwarded).status_code == 404


def test_an_evaluator_killed_from_outside_is_counted_when_replaced(client, shipped_backend):
    family = "zigraph_evaluators_replaced"
    before = value(scrape(client), family, family + "_total", pool="client")
    shipped_backend.client_pool.start()  # evaluators otherwise start as queries need them
    pids = shipped_backend.client_pool.pids()
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    query = {"query": "ASK { ?s ?p ?o } # test_an_evaluator_killed_from_outside"}
    response = client.get("/sparql", query_string=query, headers=JSON_RESULTS)
    # Found dead before the query (200), or dying under it when the kill is not seen yet
    # (500 evaluator-crashed): replaced either way.
    assert response.status_code in (200, 500)
    assert value(scrape(client), family, family + "_total", pool="client") >= before + 1


def test_evaluators_recycled_when_idle_are_counted_per_pool(client, shipped_backend):
    # tests/test_evaluator_memory.py recycles evaluators over a larger store; here the
    # family is there for each pool, at the count the pool keeps.
    family = "zigraph_evaluators_recycled"
    families = scrape(client)
    for pool, lane in (
        (shipped_backend.client_pool, "client"),
        (shipped_backend.service_pool, "service"),
    ):
        assert value(families, family, family + "_total", pool=lane) == pool.recycled
