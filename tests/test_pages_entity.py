"""Dereferencing entity IRIs: 303s, content negotiation, suffixes, the entity page and 404s."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest

from service.namespaces import ID_BASE, OA, PROV, SKOS, ZI
from tests.pagehtml import parse

AGENCY = "organisation/dpmptsp-kota-pekalongan"
CONFERRAL = "conferral/wbk-2020-dpmptsp-kota-pekalongan"
ARTICLE = "article/garudacitizen-2020-12-21-wbk-pekalongan"
HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}

RDF_TYPES = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
SUFFIXES = {
    "ttl": ox.RdfFormat.TURTLE,
    "jsonld": ox.RdfFormat.JSON_LD,
    "nt": ox.RdfFormat.N_TRIPLES,
    "rdf": ox.RdfFormat.RDF_XML,
}


def triples_of(body: bytes, fmt: ox.RdfFormat) -> set[ox.Triple]:
    return {q.triple for q in ox.parse(body, format=fmt)}


def test_entity_iri_answers_303_to_its_document(client):
    response = client.get(f"/id/{AGENCY}", headers=HTML)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/doc/{AGENCY}")


@pytest.mark.parametrize("media_type", sorted(RDF_TYPES))
def test_document_negotiates_rdf_by_accept(client, media_type):
    response = client.get(f"/doc/{AGENCY}", headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert "Accept" in response.vary
    triples = triples_of(response.data, RDF_TYPES[media_type])
    agency = ox.NamedNode(ID_BASE + AGENCY)
    assert (
        ox.Triple(agency, ox.NamedNode(str(SKOS.altLabel)), ox.Literal("DPMPTSP", language="id"))
        in triples
    )


def test_unknown_entity_iri_is_not_redirected(client):
    assert client.get("/id/organisation/no-such-agency", headers=HTML).status_code == 404


def test_html_document_links_its_rdf_alternates(client):
    response = client.get(f"/doc/{AGENCY}", headers=HTML)
    assert f'</doc/{AGENCY}.ttl>; rel="alternate"; type="text/turtle"' in response.headers["Link"]


def test_document_prefers_rdf_by_q_value(client):
    response = client.get(
        f"/doc/{AGENCY}", headers={"Accept": "text/html;q=0.5, text/turtle;q=0.9"}
    )
    assert response.mimetype == "text/turtle"


def test_document_answers_html_to_browsers(client):
    response = client.get(f"/doc/{AGENCY}", headers=HTML)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "Accept" in response.vary


@pytest.mark.parametrize("suffix", sorted(SUFFIXES))
def test_document_suffix_picks_the_format(client, suffix):
    response = client.get(f"/doc/{CONFERRAL}.{suffix}", headers=HTML)
    assert response.status_code == 200
    triples = triples_of(response.data, SUFFIXES[suffix])
    conferral = ox.NamedNode(ID_BASE + CONFERRAL)
    agency = ox.NamedNode(ID_BASE + AGENCY)
    assert ox.Triple(conferral, ox.NamedNode(str(ZI.recipient)), agency) in triples


def test_rdf_holds_the_cited_passages_and_their_selectors(client):
    response = client.get(f"/doc/{CONFERRAL}.nt")
    triples = triples_of(response.data, ox.RdfFormat.N_TRIPLES)
    conferral = ox.NamedNode(ID_BASE + CONFERRAL)
    passages = {
        t.object
        for t in triples
        if t.subject == conferral and t.predicate.value == str(PROV.wasDerivedFrom)
    }
    assert passages
    subjects = {t.subject for t in triples}
    assert passages <= subjects  # each passage described
    selectors = {t.object for t in triples if t.predicate.value == str(OA.hasSelector)}
    assert selectors and selectors <= subjects
    assert any(t.predicate.value == str(OA.exact) for t in triples)


def test_unknown_iri_gets_a_helpful_404(client):
    response = client.get("/doc/organisation/no-such-agency", headers=HTML)
    assert response.status_code == 404
    page = parse(response.data)
    assert page.find("form", role="search") is not None
    hrefs = {a.attrs.get("href") for a in page.find_all("a")}
    assert {"/", "/query", "/ontology"} <= hrefs


def test_unknown_suffix_is_not_found(client):
    assert client.get(f"/doc/{AGENCY}.pdf", headers=HTML).status_code == 404


def test_unacceptable_type_is_refused(client):
    assert client.get(f"/doc/{AGENCY}", headers={"Accept": "image/png"}).status_code == 406


def test_base_iri_is_configurable(app, client):
    app.config["BASE_IRI"] = "https://w3id.org/zigraph/"
    response = client.get(f"/doc/id/{AGENCY}.ttl")
    assert response.status_code == 200
    page = parse(client.get(f"/doc/id/{AGENCY}", headers=HTML).data)
    assert page.find("a", href=f"/doc/id/{CONFERRAL}") is not None


@pytest.fixture
def agency_page(client):
    response = client.get(f"/doc/{AGENCY}?lang=en", headers=HTML)
    assert response.status_code == 200
    return parse(response.data)


def test_entity_page_shows_label_types_and_statements(agency_page):
    assert "Pekalongan City Investment" in agency_page.find("h1").text()
    types = agency_page.find("p", class_="types")
    assert types is not None and types.find("a") is not None
    assert "/browse/class?iri=" in types.find("a").attrs["href"]
    statements = agency_page.by_id("statements")
    labels = {dt.text() for dt in statements.find_all("dt")}
    assert "skos:prefLabel" in labels or "preferred label" in {x.lower() for x in labels}
    annotations = {s.text() for s in statements.find_all("small", class_="annot")}
    assert "@id" in annotations and "@en" in annotations


def test_entity_page_links_incoming_facts(agency_page):
    incoming = agency_page.by_id("incoming")
    hrefs = {a.attrs["href"] for a in incoming.find_all("a")}
    assert f"/doc/{CONFERRAL}" in hrefs


def test_entity_page_quotes_the_passages_with_the_quote_marked(agency_page):
    provenance = agency_page.by_id("provenance")
    marks = [m.text() for m in provenance.find_all("mark")]
    assert any("(DPMPTSP)" in m for m in marks)
    source_links = {a.attrs["href"] for a in provenance.find_all("a")}
    assert any(h.startswith(f"/doc/{ARTICLE}") for h in source_links)


def test_entity_page_offers_downloads_and_json_ld(client, agency_page):
    hrefs = {a.attrs["href"] for a in agency_page.by_id("downloads").find_all("a")}
    assert {f"/doc/{AGENCY}.{s}" for s in SUFFIXES} <= hrefs
    script = agency_page.find("script", type="application/ld+json")
    raw = script.text()
    assert "</" not in raw
    document = json.loads(raw)
    assert "@context" in document and document["@graph"]


def test_json_ld_script_escapes_markup(client):
    from service.pages.entity import json_ld_script

    triples = [
        ox.Triple(
            ox.NamedNode("https://example.org/x"),
            ox.NamedNode("https://example.org/p"),
            ox.Literal("</script><script>alert(1)</script>&"),
        )
    ]
    with client.application.app_context():
        text = str(json_ld_script(triples))
    assert "<" not in text and ">" not in text and "&" not in text
    assert "</script><script>alert(1)</script>&" in json.dumps(json.loads(text))


def test_entity_page_says_whether_the_node_conforms(agency_page):
    assert agency_page.find("p", class_="conformance") is not None


def test_agency_page_draws_the_funnel_and_the_timeline(agency_page):
    funnel = agency_page.find("svg", class_="funnel-svg")
    assert funnel is not None and funnel.attrs["role"] == "img"
    assert len(funnel.find_all("rect", class_="bar")) == 3
    assert funnel.find("title").text() and funnel.find("desc").text()
    member_links = {a.attrs["href"] for a in funnel.find_all("a")}
    assert f"/doc/{AGENCY}" in member_links
    timeline = agency_page.find("figure", class_="timeline")
    assert timeline is not None and "2020" in timeline.find("table").text()
    neighbourhood = agency_page.find("figure", class_="neighbourhood")
    assert neighbourhood.find("svg").attrs["role"] == "img"
    assert neighbourhood.find("table") is not None


def test_funnel_bars_are_proportional_to_the_counts(agency_page):
    bars = agency_page.find("svg", class_="funnel-svg").find_all("rect", class_="bar")
    widths = [float(bar.attrs["width"]) for bar in bars]
    assert widths[0] > widths[1] > widths[2]
    assert widths[1] / widths[0] == pytest.approx(3 / 11, rel=0.01)


def test_article_page_shows_its_text_with_the_passages_marked(client):
    page = parse(client.get(f"/doc/{ARTICLE}", headers=HTML).data)
    text = page.by_id("source-text")
    assert text is not None and len(text.find_all("mark")) >= 10


def test_source_text_is_served_as_plain_text(client):
    response = client.get("/source/garudacitizen-2020-12-21-wbk-pekalongan.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "DPMPTSP" in response.get_data(as_text=True)
    assert client.get("/source/..%2Fontology.txt").status_code == 404


def test_long_value_lists_and_incoming_links_are_paginated(client, monkeypatch):
    from service.pages import entity

    monkeypatch.setattr(entity, "VALUES_PER_PAGE", 1)
    monkeypatch.setattr(entity, "INCOMING_PER_PAGE", 1)
    page = parse(client.get(f"/doc/{AGENCY}", headers=HTML).data)
    value_next = page.by_id("statements").find("a", rel="next")
    assert value_next is not None and "vpage=2" in value_next.attrs["href"]
    incoming_next = page.by_id("incoming").find("a", rel="next")
    assert incoming_next is not None and "ipage=2" in incoming_next.attrs["href"]
    second = parse(client.get(incoming_next.attrs["href"].split("#")[0], headers=HTML).data)
    assert second.by_id("incoming").find("a", rel="prev") is not None


@pytest.mark.parametrize(
    ("iri", "href", "external"),
    [
        (ID_BASE + AGENCY, f"/doc/{AGENCY}", False),
        (str(ZI.recipient), "/ontology#recipient", False),
        ("http://www.wikidata.org/entity/Q42", "http://www.wikidata.org/entity/Q42", True),
        ("javascript:alert(1)", None, False),
        ("mailto:someone@example.org", None, False),
        ("urn:isbn:0451450523", None, False),
    ],
)
def test_only_http_iris_become_links(app, iri, href, external):
    from service.pages.labels import link_for

    with app.test_request_context("/"):
        link = link_for(iri)
    assert (link.href, link.external) == (href, external)
