"""Dereferencing entity IRIs: 303s, content negotiation, suffixes, the entity page and 404s."""

from __future__ import annotations

import gc
import json

import pyoxigraph as ox
import pytest
from flask import url_for

from service import create_app
from service.namespaces import ID_BASE, OA, PROV, SKOS, ZI
from service.pages.labels import KeptLabels, doc_href
from tests.pagehtml import parse

AGENCY = "organisation/dpmptsp-kota-pekalongan"
CONFERRAL = "conferral/wbk-2020-dpmptsp-kota-pekalongan"
ARTICLE = "article/garudacitizen-2020-12-21-wbk-pekalongan"
PASSAGE = "passage/garudacitizen-2020-12-21-wbk-pekalongan/02"
CEREMONY = "ceremony/apresiasi-penganugerahan-zi-wbk-wbbm-2020"
COMMEMORATION = "commemoration/hari-anti-korupsi-sedunia-2020"
PIPELINE = "pipeline/kota-pekalongan-2020"
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


def test_base_iri_is_configurable(store_dir):
    config = {"TESTING": True, "STORE_DIR": str(store_dir), "BASE_IRI": "https://w3id.org/zigraph/"}
    app = create_app(config)
    try:
        client = app.test_client()
        response = client.get(f"/doc/id/{AGENCY}.ttl")
        assert response.status_code == 200
        page = parse(client.get(f"/doc/id/{AGENCY}", headers=HTML).data)
        assert page.find("a", href=f"/doc/id/{CONFERRAL}") is not None
        # Citations follow the base too: a fact's page offers one, and its download answers.
        fact = parse(client.get(f"/doc/id/{CONFERRAL}", headers=HTML).data)
        assert fact.by_id("cite-sentence") is not None
        assert client.get(f"/cite/id/{CONFERRAL}.bib").status_code == 200
    finally:
        app.extensions["zigraph.store"].close()


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
    annotations = {s.text() for s in statements.find_all("small", class_="annot")}
    assert "@id" in annotations and "@en" in annotations


def test_standard_properties_are_labelled_with_the_curie_on_hover(agency_page):
    properties = [dt.find("a") for dt in agency_page.by_id("statements").find_all("dt")]
    shown = [(a.text(), a.attrs["title"]) for a in properties]
    assert ("name", "skos:prefLabel") in shown
    assert ("unit of", "org:unitOf") in shown
    assert not [text for text, _ in shown if ":" in text]


def test_statements_follow_the_declared_order_not_the_alphabet(agency_page):
    order = [dt.find("a").attrs["title"] for dt in agency_page.by_id("statements").find_all("dt")]
    assert order.index("skos:prefLabel") < order.index("org:unitOf") < order.index("rdf:type")


def test_values_in_the_page_language_come_first(client):
    for lang, first in (("en", "en"), ("id", "id")):
        page = parse(client.get(f"/doc/{AGENCY}?lang={lang}", headers=HTML).data)
        name = page.by_id("statements").find("div", class_="statement")
        assert name.find("dd").find("span", class_="literal").attrs["lang"] == first


def test_incoming_links_read_the_right_way_round(agency_page, client):
    incoming = [dt.text() for dt in agency_page.by_id("incoming").find_all("dt")]
    assert "received" in incoming and "recipient" not in incoming
    page = parse(client.get(f"/doc/{AGENCY}?lang=id", headers=HTML).data)
    assert "menerima" in [dt.text() for dt in page.by_id("incoming").find_all("dt")]


def test_enumerated_values_are_labelled(client):
    page = parse(
        client.get(
            "/doc/ceremony/apresiasi-penganugerahan-zi-wbk-wbbm-2020?lang=en", headers=HTML
        ).data
    )
    values = {a.text() for a in page.by_id("statements").find_all("a")}
    assert "online" in values and "OnlineEventAttendanceMode" not in values


def test_entity_page_links_incoming_facts(agency_page):
    incoming = agency_page.by_id("incoming")
    hrefs = {a.attrs["href"] for a in incoming.find_all("a")}
    assert f"/doc/{CONFERRAL}" in hrefs


def test_the_source_of_a_link_is_quoted_under_it_with_the_quote_marked(agency_page):
    received = agency_page.by_id("incoming").find("div", class_="statement")
    source = received.find("details", class_="source")
    assert any("(DPMPTSP)" in m.text() for m in source.find_all("mark"))
    links = {a.attrs["href"] for a in source.find_all("a")}
    assert f"/doc/{ARTICLE}#passage-01" in links


@pytest.mark.parametrize("path", [AGENCY, CONFERRAL, "person/beno-heritriono"])
def test_each_passage_is_quoted_in_full_once_per_page(client, path):
    page = parse(client.get(f"/doc/{path}", headers=HTML).data)
    shown = [d.attrs["id"] for d in page.find_all("details", class_="source")]
    assert shown and len(shown) == len(set(shown))
    for ref in page.find_all("a", class_="source-ref"):
        assert ref.attrs["href"][1:] in shown


def test_passages_have_readable_labels(client):
    page = parse(client.get(f"/doc/{CONFERRAL}?lang=en", headers=HTML).data)
    assert page.find("h1").text() == "WBK 2020 for Pekalongan City's DPMPTSP"
    passage = parse(client.get(f"/doc/{PASSAGE}?lang=id", headers=HTML).data)
    assert passage.find("h1").text().startswith("Paragraf 1, kalimat 2 “Hal ini disampaikan")
    english = parse(client.get(f"/doc/{PASSAGE}?lang=en", headers=HTML).data)
    assert english.find("h1").text().startswith("Paragraph 1, sentence 2 “Hal ini")


def test_passage_page_shows_its_quote_first_and_links_its_place_in_the_text(client):
    page = parse(client.get(f"/doc/{PASSAGE}", headers=HTML).data)
    sections = [s.attrs.get("id") for s in page.find("article").find_all("section")]
    assert sections[0] == "quote"
    quote = page.by_id("quote")
    assert quote.find("mark").text().startswith("Hal ini disampaikan")
    assert quote.find("a").attrs["href"] == f"/doc/{ARTICLE}#passage-02"


SUMMARIES = {
    CONFERRAL: (
        "Pekalongan City Investment and One-Stop Integrated Services Agency received the WBK "
        "designation for 2020 from Ministry of Administrative and Bureaucratic Reform on 21 "
        "December 2020, handed over by Tjahjo Kumolo",
        "menerima predikat WBK tahun 2020 dari Kementerian",
    ),
    AGENCY: ("Received the WBK designation for 2020", "Menerima predikat WBK tahun 2020"),
    "person/beno-heritriono": ("Held the post of Inspector of Pekalongan City", "Membuat 7"),
    "stage/kota-pekalongan-2020-2-dinilai-tingkat-nasional": (
        "Stage 2 of 3 in Pekalongan City Government's WBK-WBBM proposals, 2020: 3 members",
        "Berikutnya: Ditetapkan meraih predikat WBK (2).",
    ),
    CEREMONY: (
        "An award ceremony on 21 December 2020, held online, part of International "
        "Anti-Corruption Day 2020.",
        "Di acara ini diserahkan 2 predikat: WBK Tahun 2020 untuk Dinarpus Kota Pekalongan dan "
        "WBK Tahun 2020 untuk DPMPTSP Kota Pekalongan.",
    ),
    PIPELINE: (
        "Its stages: Proposed to Kemenpan-RB (11) → Approved for national assessment (3) → "
        "Designated WBK (2).",
        "Pemerintah Kota Pekalongan mengusulkan unit kerjanya untuk predikat",
    ),
    ARTICLE: (
        "A news article published by Garudacitizen reporting on 21 December 2020.",
        "19 petikan teksnya menjadi sumber fakta dalam graf ini.",
    ),
    PASSAGE: (
        "Paragraph 1, sentence 2 of Garudacitizen news",
        "Paragraf 1, kalimat 2 dari Berita Garudacitizen",
    ),
}


@pytest.mark.parametrize("path", sorted(SUMMARIES))
def test_main_classes_lead_with_a_summary_in_the_reader_language(client, path):
    english, indonesian = SUMMARIES[path]
    for lang, expected in (("en", english), ("id", indonesian)):
        page = parse(client.get(f"/doc/{path}?lang={lang}", headers=HTML).data)
        summary = page.find("div", class_="summary")
        assert summary is not None and expected in summary.text(), summary and summary.text()
        assert summary.find("a") is not None


def test_summaries_of_the_new_kinds_come_from_the_data_in_both_languages(client):
    """The ceremony's summary names every conferral at it and each passage its own place."""
    for lang in ("id", "en"):
        ceremony = parse(client.get(f"/doc/{CEREMONY}?lang={lang}", headers=HTML).data)
        links = {a.attrs["href"] for a in ceremony.find("div", class_="summary").find_all("a")}
        assert {f"/doc/{CONFERRAL}", "/doc/conferral/wbk-2020-dinarpus-kota-pekalongan"} <= links
        assert f"/doc/{COMMEMORATION}" in links
    third = parse(client.get(f"/doc/{PASSAGE[:-2]}03?lang=en", headers=HTML).data).find(
        "div", class_="summary"
    )
    assert third.text().startswith("Paragraph 2, sentence 1 of ")
    assert "The source of 6 facts:" in third.text() and "and 1 more." in third.text()


def statement_values(page, curie: str) -> list:
    """Return the value elements of the statement whose property has this compact IRI."""
    for row in page.by_id("statements").find_all("div", class_="statement"):
        if row.find("dt").find("a").attrs["title"] == curie:
            return row.find("dd").find("ul", class_="values").find_all("li")
    raise AssertionError(f"no {curie} statement")


def test_pipeline_lists_its_stages_in_their_stated_order(client):
    page = parse(client.get(f"/doc/{PIPELINE}?lang=en", headers=HTML).data)
    stages = [li.find("a").text() for li in statement_values(page, "zi:hasStage")]
    assert stages == [
        "Proposed to Kemenpan-RB",
        "Approved for national assessment",
        "Designated WBK",
    ]
    drawn = [a.text() for a in page.find("ul", class_="nb-out").find_all("a")]
    assert [stage for stage in drawn if stage in stages] == stages


@pytest.mark.parametrize(
    ("path", "stated", "inverse", "other"),
    [
        (CEREMONY, "schema:superEvent", "schema:subEvent", COMMEMORATION),
        (COMMEMORATION, "schema:subEvent", "schema:superEvent", CEREMONY),
    ],
)
def test_a_link_stored_from_both_ends_is_shown_once(client, path, stated, inverse, other):
    page = parse(client.get(f"/doc/{path}?lang=id", headers=HTML).data)
    assert [li.find("a").attrs["href"] for li in statement_values(page, stated)] == [
        f"/doc/{other}"
    ]
    incoming = page.by_id("incoming")
    assert inverse not in [dt.find("a").attrs["title"] for dt in incoming.find_all("dt")]
    assert f"/doc/{other}" not in {a.attrs["href"] for a in incoming.find_all("a")}
    shown = [dt.text() for dt in page.find_all("dt") if dt.text() == "bagian dari acara"]
    assert len(shown) == (1 if path == CEREMONY else 0)


def test_neighbourhood_reads_each_link_from_the_entity_outwards(client):
    """Left boxes carry words read from the entity ("discussed in"): their arrow leaves it too."""
    page = parse(client.get(f"/doc/{CEREMONY}?lang=en", headers=HTML).data)
    figure = page.find("figure", class_="neighbourhood")
    left = figure.find("ul", class_="nb-in")
    right = figure.find("ul", class_="nb-out")
    assert f"/doc/{COMMEMORATION}" not in {a.attrs["href"] for a in left.find_all("a")}
    assert f"/doc/{COMMEMORATION}" in {a.attrs["href"] for a in right.find_all("a")}
    for props in left.find_all("span", class_="nb-props"):
        assert props.text().startswith("← ") and "→" not in props.text()
    for props in right.find_all("span", class_="nb-props"):
        assert props.text().startswith("→ ")


def test_datatypes_are_on_hover_not_beside_the_value(client):
    page = parse(client.get(f"/doc/{CEREMONY}?lang=id", headers=HTML).data)
    assert "xsd:" not in page.by_id("statements").text()
    date = statement_values(page, "schema:startDate")[0].find("span", class_="literal")
    assert date.text() == "21 Desember 2020"
    assert date.attrs["title"] == "2020-12-21 (xsd:date)"


def test_same_as_links_the_wikidata_item_with_the_places_label(client):
    for lang, text in (
        ("id", "Kota Pekalongan di Wikidata (Q11026)"),
        ("en", "Pekalongan City on Wikidata (Q11026)"),
    ):
        page = parse(client.get(f"/doc/place/kota-pekalongan?lang={lang}", headers=HTML).data)
        link = statement_values(page, "schema:sameAs")[0].find("a")
        assert link.text() == text
        assert link.attrs["href"] == "http://www.wikidata.org/entity/Q11026"


def test_article_and_passage_properties_read_as_words(client):
    """No raw schema:dateline, no "position"/"quote" selectors, no "false"."""
    article = parse(client.get(f"/doc/{ARTICLE}?lang=id", headers=HTML).data)
    properties = [dt.text() for dt in article.by_id("statements").find_all("dt")]
    assert "baris tempat berita" in properties
    assert not [p for p in properties if ":" in p]
    stated = statement_values(article, "zi:publicationDateStated")[0]
    assert stated.find("span", class_="literal").text() == "tidak"
    for lang, words in (
        ("id", ("penanda posisi: karakter", "penanda kutipan “")),
        ("en", ("position selector: characters", "quote selector “")),
    ):
        passage = parse(client.get(f"/doc/{PASSAGE}?lang={lang}", headers=HTML).data)
        selectors = [li.find("a").text() for li in statement_values(passage, "oa:hasSelector")]
        assert len(selectors) == 2
        assert all(any(s.startswith(w) for s in selectors) for w in words), selectors


def test_statements_and_the_zi_statement_class_do_not_share_a_word(client):
    """ "Pernyataan" names zi:Statement; the page's section of facts is called something else."""
    page = parse(client.get("/doc/person/beno-heritriono?lang=id", headers=HTML).data)
    assert page.by_id("statements-h").text() == "Fakta"
    assert "pernyataan" in page.find("div", class_="summary").text()
    english = parse(client.get("/doc/person/beno-heritriono?lang=en", headers=HTML).data)
    assert english.by_id("statements-h").text() == "Facts"


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


def test_agency_page_draws_the_funnel_and_the_neighbourhood(agency_page):
    funnel = agency_page.find("svg", class_="funnel-svg")
    # An SVG holding links is a group, not an image (axe: nested-interactive).
    assert funnel is not None and funnel.attrs["role"] == "group"
    assert len(funnel.find_all("rect", class_="bar")) == 3
    assert funnel.find("title").text() and funnel.find("desc").text()
    member_links = {a.attrs["href"] for a in funnel.find_all("a")}
    assert f"/doc/{AGENCY}" in member_links
    neighbourhood = agency_page.find("figure", class_="neighbourhood")
    nodes = [li.find("a").attrs["href"] for li in neighbourhood.find_all("li", class_="nb-node")]
    assert f"/doc/{CONFERRAL}" in nodes
    assert len(nodes) == len(set(nodes)), "one box per resource"
    assert not [t for t in neighbourhood.iter() if "…" in t.text()]


def test_timeline_is_drawn_only_with_several_events(agency_page):
    # DPMPTSP has one designation: a single dot on a year axis says nothing the summary does not.
    assert agency_page.find("figure", class_="timeline") is None


def test_stage_page_funnel_marks_the_stage(client):
    page = parse(
        client.get("/doc/stage/kota-pekalongan-2020-2-dinilai-tingkat-nasional", headers=HTML).data
    )
    current = page.find("g", class_="current")
    assert current is not None and "Disetujui" in current.text()
    assert page.find("tr", class_="current") is not None


def test_neighbourhood_says_how_many_more_when_it_caps(client):
    page = parse(client.get(f"/doc/{ARTICLE}", headers=HTML).data)
    neighbourhood = page.find("figure", class_="neighbourhood")
    more = neighbourhood.find("li", class_="nb-more")
    assert more is not None and more.text() == "+11 lainnya"


def test_funnel_bars_are_proportional_to_the_counts(agency_page):
    bars = agency_page.find("svg", class_="funnel-svg").find_all("rect", class_="bar")
    widths = [float(bar.attrs["width"]) for bar in bars]
    assert widths[0] > widths[1] > widths[2]
    assert widths[1] / widths[0] == pytest.approx(3 / 11, rel=0.01)


def test_article_page_shows_its_text_as_paragraphs_with_the_passages_numbered(client):
    page = parse(client.get(f"/doc/{ARTICLE}", headers=HTML).data)
    text = page.by_id("source-text")
    assert len(text.find_all("p")) >= 6
    numbers = text.find_all("a", class_="passage-no")
    # Each passage is marked with its paragraph and sentences, in the order of the text.
    assert [a.text() for a in numbers] == [
        *("1.1", "1.2", "2.1", "3.1", "3.2", "3.3", "3.4", "4.1–2", "4.1", "4.2"),
        *("5.1", "5.2", "5.3", "6.1–5", "6.1", "6.2", "6.3", "6.4", "6.5"),
    ]
    titles = [a.attrs["title"] for a in numbers]
    assert len(set(titles)) == len(titles), "every passage has a title of its own"
    assert numbers[1].attrs["href"] == f"/doc/{PASSAGE}"
    assert len(text.find_all("mark")) >= 18


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


def test_a_hub_shows_one_page_of_each_linking_property_with_its_total(client, monkeypatch):
    # A hub (the ministry at a million triples is linked from 40,000 facts) shows a page of
    # each property's subjects, how many there are, its own pager and a query for all.
    from service.pages import entity

    monkeypatch.setattr(entity, "INCOMING_PER_PAGE", 1)
    page = parse(client.get("/doc/organisation/kemenpan-rb?lang=en", headers=HTML).data)
    conferred = next(
        div
        for div in page.by_id("incoming").find_all("div", class_="statement")
        if div.find("dt").text() == "conferred"
    )
    first = [
        a.attrs["href"]
        for a in conferred.find("ul").find_all("a")
        if a.attrs["href"].startswith("/doc/conferral/")
    ]
    assert len(first) == 1
    assert "Showing links 1–1 of 2" in conferred.text()
    next_href = conferred.find("a", rel="next").attrs["href"]
    assert "iproperty=" in next_href and "ipage=2" in next_href
    query_href = conferred.find("a", class_="incoming-query").attrs["href"]
    assert query_href.startswith("/query?query=")
    answer = client.get(
        "/sparql" + query_href[len("/query") :],
        headers={"Accept": "application/sparql-results+json"},
    )
    assert len(answer.get_json()["results"]["bindings"]) == 2
    second = parse(client.get(next_href.split("#")[0], headers=HTML).data)
    conferred_2 = next(
        div
        for div in second.by_id("incoming").find_all("div", class_="statement")
        if div.find("dt").text() == "conferred"
    )
    rest = [
        a.attrs["href"]
        for a in conferred_2.find("ul").find_all("a")
        if a.attrs["href"].startswith("/doc/conferral/")
    ]
    assert len(rest) == 1 and rest != first
    assert "Showing links 2–2 of 2" in conferred_2.text()


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


TWO_DESIGNATIONS = """
@prefix zi: <https://w3id.org/zigraph/ontology#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix organisation: <https://w3id.org/zigraph/id/organisation/> .
@prefix designation: <https://w3id.org/zigraph/id/designation/> .
@prefix conferral: <https://w3id.org/zigraph/id/conferral/> .
organisation:agency skos:prefLabel "Dinas Contoh"@id .
designation:wbk skos:prefLabel "Wilayah Bebas dari Korupsi"@id ; skos:altLabel "WBK"@id .
designation:wbbm skos:prefLabel "Wilayah Birokrasi Bersih dan Melayani"@id ;
    skos:altLabel "WBBM"@id .
conferral:one a zi:DesignationConferral ; zi:recipient organisation:agency ;
    zi:designation designation:wbk ; zi:assessmentYear "2020"^^xsd:gYear ;
    zi:conferralDate "2020-12-21"^^xsd:date .
conferral:two a zi:DesignationConferral ; zi:recipient organisation:agency ;
    zi:designation designation:wbbm ; zi:assessmentYear "2022"^^xsd:gYear .
"""


@pytest.fixture
def two_designations_client(tmp_path):
    from service import dataset
    from service.store import building
    from tests.conftest import application_over

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "agency.ttl").write_text(TWO_DESIGNATIONS, encoding="utf-8")
    building.build_store(dataset.selected_files([folder]), tmp_path / "s")
    for application in application_over(tmp_path / "s"):
        yield application.test_client()


def test_timeline_shows_several_designations_with_the_date_at_each_dot(two_designations_client):
    page = parse(two_designations_client.get("/doc/organisation/agency", headers=HTML).data)
    timeline = page.find("figure", class_="timeline")
    assert timeline is not None
    labels = [t.text() for t in timeline.find_all("text", class_="event-label")]
    assert labels == ["WBK · 21 Desember 2020", "WBBM · 2022"]
    dots = [float(c.attrs["cx"]) for c in timeline.find_all("circle", class_="event")]
    xs = [float(t.attrs["x"]) for t in timeline.find_all("text", class_="event-label")]
    assert dots == xs and dots[0] < dots[1]


def test_one_accept_header_gets_the_same_kind_of_answer_from_a_document_and_the_catalog(client):
    document = client.get(f"/doc/{AGENCY}", headers={"Accept": "text/plain"})
    catalog = client.get("/catalog", headers={"Accept": "text/plain"})
    assert document.status_code == catalog.status_code == 200
    for answer in (document, catalog):  # N-Triples, which text/plain may hold
        assert list(ox.parse(answer.data, format=ox.RdfFormat.N_TRIPLES))


@pytest.mark.parametrize(
    "path",
    [AGENCY, CONFERRAL, PIPELINE, "stage/kota-pekalongan-2020-2-dinilai-tingkat-nasional", PASSAGE],
)
def test_a_page_gathers_its_queries_and_shows_what_one_query_at_a_time_shows(
    store_dir, shipped_backend, monkeypatch, path
):
    # The queries a page knows at once go to the evaluator in one call (prefetch): fewer
    # round trips, the same page as when each query is sent alone.
    app = create_app(
        {"TESTING": True, "STORE_DIR": str(store_dir), "PAGE_CACHE_MB": 0, "SHARED_PAGES": False}
    )
    app.extensions["zigraph.store"] = shipped_backend
    pool = shipped_backend.service_pool
    calls: list[str] = []
    run = pool.run

    def counted(function, *arguments, **options):
        calls.append(function.__name__)
        return run(function, *arguments, **options)

    monkeypatch.setattr(pool, "run", counted)
    client = app.test_client()

    def render() -> tuple[bytes, int]:
        calls.clear()
        response = client.get(f"/doc/{path}?lang=en", headers=HTML)
        assert response.status_code == 200
        return response.data, len(calls)

    gathered, gathered_calls = render()
    monkeypatch.setattr(type(shipped_backend), "prefetch", lambda self, texts: None)
    alone, alone_calls = render()
    assert gathered == alone
    assert "run_queries" not in calls  # the second page sent each query alone
    # The existence check, the IRI's own queries, the links to it, what those lead to, the
    # labels: 5-6 calls on these pages, against 21-30 when each query goes alone.
    assert gathered_calls <= 6 and 2 * gathered_calls <= alone_calls


def test_a_query_that_fails_among_gathered_ones_reports_its_own_error(app, shipped_backend):
    from service.errors import QuerySyntaxError
    from service.store.base import prefetched

    good = f"ASK {{ <{ID_BASE}{AGENCY}> ?p ?o }}"
    bad = "SELECT ?s WHERE { ?s ?p }"
    with app.test_request_context("/"):
        shipped_backend.prefetch([good, bad])
        assert prefetched(good) is not None and prefetched(bad) is None
        assert shipped_backend.query(good).boolean is True
        with pytest.raises(QuerySyntaxError):
            shipped_backend.query(bad)
    with app.test_request_context("/"):  # what one request gathered is not another's
        assert prefetched(good) is None


LABELS_QUERY = "SELECT DISTINCT ?x ?p ?l WHERE"


def labels_asked(app, monkeypatch, path: str) -> str:
    """Render a page and return the IRIs its labels queries named (their text, joined)."""
    backend = app.extensions["zigraph.store"]
    asked: list[str] = []
    query = backend.query

    def spy(text, **arguments):
        if isinstance(text, str) and text.startswith(LABELS_QUERY):
            asked.append(text)
        return query(text, **arguments)

    monkeypatch.setattr(backend, "query", spy)
    response = app.test_client().get(path, headers=HTML)
    monkeypatch.undo()
    assert response.status_code == 200
    return " ".join(asked)


def test_a_page_asks_for_the_labels_of_iris_no_page_named_before(
    store_dir, shipped_backend, monkeypatch
):
    """What the store said of an IRI's labels is kept for the data version, in each process."""
    app = create_app({"TESTING": True, "STORE_DIR": str(store_dir), "PAGE_CACHE_MB": 0})
    app.extensions["zigraph.store"] = shipped_backend  # no page is kept: each is rendered
    agency = f"<{ID_BASE}{AGENCY}>"
    first = labels_asked(app, monkeypatch, f"/doc/{AGENCY}")
    assert agency in first
    # Kept as plain strings, the labels are nothing a garbage collection walks.
    gc.collect()
    rows = app.extensions["zigraph.kept_labels"].get(
        shipped_backend.fixed_version(), ID_BASE + AGENCY
    )
    assert rows and not any(gc.is_tracked(row) for row in (rows, *rows))
    # The conferral's page names the agency, its recipient: known already, not asked again.
    assert agency not in labels_asked(app, monkeypatch, f"/doc/{CONFERRAL}")
    # Rendered again, the agency's page asks for no label at all.
    assert labels_asked(app, monkeypatch, f"/doc/{AGENCY}") == ""
    # Without what was kept, the conferral's page asks for the agency's labels itself.
    app.extensions.pop("zigraph.kept_labels")
    assert agency in labels_asked(app, monkeypatch, f"/doc/{CONFERRAL}")


def test_kept_labels_hold_one_data_version_and_at_most_their_bound():
    kept = KeptLabels(4)
    label = (("http://www.w3.org/2004/02/skos/core#prefLabel", "Dinas Pendidikan", "id"),)
    kept.put("v1", {"a": label, "b": ()})
    assert kept.get("v1", "a") == label
    assert kept.get("v1", "b") == ()  # the store said nothing of b: known, not asked again
    assert kept.get("v2", "a") is None
    kept.put("v2", {"c": label})  # another version: what the first said is gone
    assert kept.get("v1", "a") is None and kept.get("v2", "c") == label
    kept.put("v2", {name: () for name in "defgh"})
    assert kept.get("v2", "h") == () and kept.get("v2", "c") is None  # the first kept go


@pytest.mark.parametrize("path", [AGENCY, "a b/ç?#%25", "x;y=z@:!$&'()*+,~", "passage/article/01"])
def test_entity_links_are_the_urls_flask_builds(app, path):
    with app.test_request_context("/", base_url="http://example.org/zigraph/"):
        assert doc_href(path) == url_for("entity.doc", path=path)
        assert doc_href(path).startswith("/zigraph/doc/")
