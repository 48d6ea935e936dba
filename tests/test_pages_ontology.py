"""The ontology, shapes and validation pages, and the ontology served as RDF."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from service import dataset, resources
from service.namespaces import OWL, RDF, RDFS, ZI
from tests.pagehtml import parse

HTML = {"Accept": "text/html"}


def ontology_terms() -> tuple[set[str], set[str]]:
    loaded = dataset.load(dataset.files_for([resources.folder("ontology")], "ontology"))
    classes, properties = set(), set()
    for quad in loaded.quads:
        if quad.predicate.value != str(RDF.type) or not quad.subject.value.startswith(str(ZI)):
            continue
        if quad.object.value in (str(OWL.Class), str(RDFS.Class)):
            classes.add(quad.subject.value)
        elif quad.object.value in (
            str(OWL.ObjectProperty),
            str(OWL.DatatypeProperty),
            str(OWL.AnnotationProperty),
            str(RDF.Property),
        ):
            properties.add(quad.subject.value)
    return classes, properties


def test_ontology_page_documents_every_class_and_property(client):
    page = parse(client.get("/ontology?lang=en", headers=HTML).data)
    classes, properties = ontology_terms()
    anchors = {article.attrs["id"] for article in page.find_all("article", class_="term")}
    assert {iri[len(str(ZI)) :] for iri in classes | properties} <= anchors


def test_ontology_class_shows_both_languages_alignment_count_and_shapes(client):
    page = parse(client.get("/ontology", headers=HTML).data)
    conferral = page.by_id("DesignationConferral")
    facts = conferral.find("dl")
    values = {
        dt.text(): dd.text()
        for dt, dd in zip(facts.find_all("dt"), facts.find_all("dd"), strict=True)
    }
    assert values["Label (id)"] != "—" and values["Label (en)"] != "—"
    assert values["Definisi (id)"] != "—" and values["Definisi (en)"] != "—"
    assert values["Anggota (termasuk subkelas)"] == "2"
    assert values["Shapes yang berlaku"] != "—"
    assert any("Subkelas dari" == key for key in values)


def test_ontology_page_says_what_each_alignment_claims(client):
    page = parse(client.get("/ontology?lang=en", headers=HTML).data)
    assert "Equivalences (owl:equivalentClass" in page.find("p", class_="ontology-note").text()
    held_on = page.by_id("heldOn").find("dl")
    facts = zip(held_on.find_all("dt"), held_on.find_all("dd"), strict=True)
    notes = [dd.text() for dt, dd in facts if dt.text() == "Scope note"]
    assert notes and "close match of org:memberDuring" in notes[0]


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [("text/turtle", ox.RdfFormat.TURTLE), ("application/ld+json", ox.RdfFormat.JSON_LD)],
)
def test_ontology_is_negotiated_as_rdf(client, accept, fmt):
    response = client.get("/ontology", headers={"Accept": accept})
    assert response.mimetype == accept
    triples = {q.triple for q in ox.parse(response.data, format=fmt)}
    assert ox.Triple(ZI_NODE("DesignationConferral"), TYPE, ox.NamedNode(str(OWL.Class))) in triples


def ZI_NODE(local: str) -> ox.NamedNode:  # noqa: N802 - reads like the namespace
    return ox.NamedNode(str(ZI) + local)


TYPE = ox.NamedNode(str(RDF.type))


@pytest.mark.parametrize("suffix", ["ttl", "jsonld", "nt", "rdf"])
def test_ontology_and_shapes_download_by_suffix(client, suffix):
    for page in ("ontology", "shapes"):
        response = client.get(f"/{page}.{suffix}")
        assert response.status_code == 200
        assert response.data


def test_ontology_terms_link_to_their_anchor(client):
    page = parse(client.get("/doc/conferral/wbk-2020-dpmptsp-kota-pekalongan", headers=HTML).data)
    hrefs = {a.attrs["href"] for a in page.find_all("a")}
    assert "/ontology#recipient" in hrefs


def test_shapes_page_lists_node_shapes_with_messages(client):
    page = parse(client.get("/shapes?lang=en", headers=HTML).data)
    shapes = page.find_all("section", class_="shape")
    assert shapes
    assert any(s.find("table") is not None for s in shapes)


def test_validation_page_shows_the_report_of_the_shipped_data(client, shipped_dataset):
    from service.validation import validate

    page = parse(client.get("/validation", headers=HTML).data)
    verdict = page.find("p", class_="conformance")
    expected = "ok" if validate(shipped_dataset).conforms else "broken"
    assert expected in verdict.attrs["class"].split()
    response = client.get("/validation.ttl")
    assert len(list(ox.parse(response.data, format=ox.RdfFormat.TURTLE))) > 0


def test_a_broken_rule_shows_on_the_node_page_and_the_report(app, client):
    from rdflib import Graph

    from service.store import get_store
    from service.validation import Report, ValidationResult
    from service.validation_report import CACHE_KEY

    agency = "https://w3id.org/zigraph/id/organisation/dpmptsp-kota-pekalongan"
    result = ValidationResult(
        focus=agency,
        focus_label={"id": "DPMPTSP"},
        path="skos:prefLabel",
        value=None,
        severity="Violation",
        source_shape="zsh:test-rule",
        messages={"id": "Pesan <uji>", "en": "Test <message>"},
    )
    with app.app_context():
        version = get_store().fixed_version()
    app.extensions[CACHE_KEY] = {"report": (version, Report(False, [result], Graph(), 1))}
    page = parse(client.get("/doc/organisation/dpmptsp-kota-pekalongan", headers=HTML).data)
    verdict = page.find("p", class_="conformance")
    assert "broken" in verdict.attrs["class"].split()
    assert page.find("ul", class_="violations").text() == "[Pelanggaran] Pesan <uji> skos:prefLabel"
    report = parse(client.get("/validation?lang=en", headers=HTML).data)
    row = report.find("tbody").find("tr")
    assert [td.text() for td in row.find_all("td")][0] == "Violation"
    assert row.find("a").attrs["href"] == "/doc/organisation/dpmptsp-kota-pekalongan"


def test_ontology_page_names_title_version_and_licence(client):
    page = parse(client.get("/ontology?lang=en", headers=HTML).data)
    assert page.find("h1").text() == "zigraph ontology: Integrity Zone (WBK/WBBM)"
    facts = page.find("dl", class_="ontology-facts")
    loaded = dataset.load(dataset.files_for([resources.folder("ontology")], "ontology"))
    versions = {q.object.value for q in loaded.quads if q.predicate.value == str(OWL.versionInfo)}
    shown = dict(
        zip(
            [dt.text() for dt in facts.find_all("dt")],
            [dd.text() for dd in facts.find_all("dd")],
            strict=True,
        )
    )
    assert shown["Version"] in versions
    assert shown["Licence"] == "CC BY 4.0"


def test_ontology_page_has_contents_and_the_class_hierarchy(client):
    page = parse(client.get("/ontology?lang=en", headers=HTML).data)
    toc = page.find("nav", class_="toc")
    assert {a.attrs["href"] for a in toc.find_all("a")} >= {"#h-hierarchy", "#Dinas", "#recipient"}
    hierarchy = page.find("section", aria_labelledby="h-hierarchy")
    fact = next(li for li in hierarchy.find_all("li") if li.find("a").text() == "attested fact")
    assert "designation conferral" in [a.text() for a in fact.find("ul").find_all("a")]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_shapes_texts_do_not_say_a_word_twice(client, lang):
    page = parse(client.get(f"/shapes?lang={lang}", headers=HTML).data)
    repeated = set()
    for element in page.find("main").iter():
        if element.tag in ("p", "td", "small"):
            words = element.text().casefold().split()
            repeated |= {a for a, b in zip(words, words[1:], strict=False) if a == b}
    assert not repeated


def test_validation_page_says_what_it_checked(client):
    page = parse(client.get("/validation?lang=en", headers=HTML).data)
    facts = dict(
        zip(
            [dt.text() for dt in page.find("dl", class_="validation-facts").find_all("dt")],
            [dd.text() for dd in page.find("dl", class_="validation-facts").find_all("dd")],
            strict=True,
        )
    )
    assert int(facts["Shapes"]) > 10 and int(facts["Focus nodes"]) > 10
    assert facts["Dataset version"]
