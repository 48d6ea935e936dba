"""Entity documents (/doc/….ttl and friends) that stand alone, and the one content negotiator."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest

from service.namespaces import DATASET_IRI, DCTERMS, FOAF, ID_BASE, PROV, RDF, SKOS, VOID, ZI
from tests.pagehtml import parse

AGENCY = "organisation/dpmptsp-kota-pekalongan"
CONFERRAL = "conferral/wbk-2020-dpmptsp-kota-pekalongan"
PASSAGE_01 = ID_BASE + "passage/garudacitizen-2020-12-21-wbk-pekalongan/01"
HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


def node(iri) -> ox.NamedNode:
    return ox.NamedNode(str(iri))


@pytest.fixture
def agency_document(client) -> tuple[str, set[ox.Triple]]:
    response = client.get(f"/doc/{AGENCY}.ttl")
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    text = response.get_data(as_text=True)
    return text, {q.triple for q in ox.parse(response.data, format=ox.RdfFormat.TURTLE)}


def test_document_holds_the_links_to_its_entity(agency_document):
    # The symmetric description: DPMPTSP's own document says that it received WBK.
    _, triples = agency_document
    assert (
        ox.Triple(node(ID_BASE + CONFERRAL), node(ZI.recipient), node(ID_BASE + AGENCY)) in triples
    )


def test_document_labels_the_resources_it_links_to(agency_document):
    _, triples = agency_document
    conferral_label = ox.Literal("WBK Tahun 2020 untuk DPMPTSP Kota Pekalongan", language="id")
    parent_label = ox.Literal("Pemerintah Kota Pekalongan", language="id")
    assert ox.Triple(node(ID_BASE + CONFERRAL), node(SKOS.prefLabel), conferral_label) in triples
    parent = node(ID_BASE + "organisation/pemerintah-kota-pekalongan")
    assert ox.Triple(parent, node(SKOS.prefLabel), parent_label) in triples


def test_document_carries_the_provenance_of_its_facts(agency_document):
    _, triples = agency_document
    conferral = node(ID_BASE + CONFERRAL)
    assert ox.Triple(conferral, node(PROV.wasDerivedFrom), node(PASSAGE_01)) in triples
    assert any(
        t.subject == node(PASSAGE_01) and t.predicate.value.endswith("hasSelector") for t in triples
    )


def test_document_describes_itself(agency_document):
    _, triples = agency_document
    document = next(t.subject for t in triples if t.predicate == node(FOAF.primaryTopic))
    about = {(t.predicate.value, t.object) for t in triples if t.subject == document}
    assert (str(FOAF.primaryTopic), node(ID_BASE + AGENCY)) in about
    assert (str(RDF.type), node(FOAF.Document)) in about
    assert (str(VOID.inDataset), node(DATASET_IRI)) in about
    assert (str(DCTERMS.license), node("https://creativecommons.org/licenses/by/4.0/")) in about
    assert str(DCTERMS.modified) in {p for p, _ in about}


def test_document_binds_only_the_prefixes_it_uses_and_escapes_no_slash(agency_document):
    text, _ = agency_document
    prefixes = re.findall(r"^@prefix ([A-Za-z][\w-]*):", text, re.M)
    body = "\n".join(line for line in text.splitlines() if not line.startswith("@prefix"))
    assert prefixes and "sh" not in prefixes and "dcat" not in prefixes
    for prefix in prefixes:
        assert re.search(rf"(^|[\s(\[^]){re.escape(prefix)}:", body, re.M), prefix
    assert "\\/" not in text


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/doc/organisation/no-such.ttl", {}),
        ("/doc/organisation/no-such", {"Accept": "text/turtle"}),
    ],
)
def test_missing_document_asked_for_as_data_answers_in_a_machine_form(client, path, headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert json.loads(response.data)["error"] == "not-found"


def test_missing_page_in_a_browser_is_a_page_in_the_reader_language(client):
    response = client.get("/doc/organisation/no-such?lang=en", headers=HTML)
    assert response.status_code == 404 and response.mimetype == "text/html"
    page = parse(response.data)
    assert page.find("h1").text() == "Not found"
    assert page.find("form", role="search") is not None


def test_http_errors_on_pages_speak_the_reader_language(client):
    response = client.get("/no/such/route", headers={**HTML, "Accept-Language": "id"})
    page = parse(response.data)
    assert response.status_code == 404
    assert page.find("p", class_="error-message").text().startswith("Halaman ini tidak ada")
    assert page.find("header", class_="site-header") is not None


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_missing_route_page_speaks_only_the_reader_language(client, lang):
    """Regression: Werkzeug's English sentence showed under the Indonesian one."""
    headers = {**HTML, "Accept-Language": lang}
    page = parse(client.get("/nothing-here", headers=headers).data)
    main = page.find("main").text()
    assert "The requested URL was not found" not in main
    assert page.find("pre", class_="error-detail") is None
    assert page.find("p", class_="error-message").attrs.get("lang") is None
    for accept in ("application/json", "text/plain"):
        machine = client.get("/nothing-here", headers={"Accept": accept, "Accept-Language": lang})
        assert machine.status_code == 404
        assert "The requested URL was not found on the server." in machine.get_data(as_text=True)


def test_an_http_error_of_ours_keeps_its_detail_on_the_page(client):
    page = parse(client.get("/download/zigraph.xyz", headers=HTML).data)
    assert page.find("p", class_="error-message").text().startswith("Halaman ini tidak ada")
    assert "choose one of" in page.find("pre", class_="error-detail").text()


def test_embedded_json_ld_uses_schema_org_types(client):
    page = parse(client.get(f"/doc/{AGENCY}", headers=HTML).data)
    document = json.loads(page.find("script", type="application/ld+json").text())
    entity = next(n for n in document["@graph"] if n["@id"].endswith("dpmptsp-kota-pekalongan"))
    assert "schema:GovernmentOrganization" in entity["@type"]
    assert "schema:name" in entity


def test_one_negotiator_gives_the_same_answer_to_the_same_accept_header(client):
    # A client that names no type gets RDF from the endpoint and HTML from a document,
    # and an error in JSON from either.
    assert client.get("/sparql?query=ASK{}", headers={"Accept": "*/*"}).mimetype == (
        "application/sparql-results+json"
    )
    assert client.get(f"/doc/{AGENCY}", headers={"Accept": "*/*"}).mimetype == "text/html"
    assert client.get(f"/doc/{AGENCY}", headers={"Accept": "image/png"}).status_code == 406


def test_page_modules_do_not_import_each_other_in_a_cycle():
    import ast
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "service" / "pages"
    imports = {}
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        imports[path.stem] = {
            alias.name
            if isinstance(n, ast.ImportFrom) and n.module == "service.pages"
            else (n.module or "").removeprefix("service.pages.")
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("service.pages")
            for alias in n.names
        }
    assert "ontology" in imports["entity"]
    assert "entity" not in imports["ontology"]


def test_domain_errors_on_a_page_say_what_happened_in_the_reader_language(client):
    response = client.post(
        "/sparql", data={"update": "DROP ALL"}, headers={**HTML, "Accept-Language": "id"}
    )
    assert response.status_code == 403
    page = parse(response.data)
    assert page.find("p", class_="error-message").text().startswith("Titik akhir ini hanya")
    assert page.find("pre", class_="error-detail").attrs["lang"] == "en"
    machine = client.post("/sparql", data={"update": "DROP ALL"}, headers={"Accept": "*/*"})
    assert json.loads(machine.data)["message"].startswith("SPARQL updates are refused")


def test_a_hub_document_holds_some_links_of_each_property_and_says_how_many(client, monkeypatch):
    # The ministry's document at a million triples would hold 40,000 links: it holds a bounded
    # number per property and a hydra:Collection with the total and a query for every one.
    from service.namespaces import HYDRA, RDFS
    from service.pages import document

    monkeypatch.setattr(document, "LINKS_PER_PROPERTY", 1)
    response = client.get("/doc/organisation/kemenpan-rb.ttl")
    assert response.status_code == 200
    triples = {q.triple for q in ox.parse(response.data, format=ox.RdfFormat.TURTLE)}
    ministry = node(ID_BASE + "organisation/kemenpan-rb")
    conferred = [t for t in triples if t.predicate == node(ZI.conferredBy) and t.object == ministry]
    assert len(conferred) == 1
    (manages,) = [
        t.subject
        for t in triples
        if t.predicate == node(HYDRA.property) and t.object == node(ZI.conferredBy)
    ]
    (collection,) = [t.subject for t in triples if t.object == manages]
    total = next(
        t.object
        for t in triples
        if t.subject == collection and t.predicate == node(HYDRA.totalItems)
    )
    assert total.value == "2"
    query = next(
        t.object for t in triples if t.subject == collection and t.predicate == node(RDFS.seeAlso)
    )
    where = urlsplit(query.value)
    answer = client.get(
        f"{where.path}?{where.query}", headers={"Accept": "application/sparql-results+json"}
    )
    assert len(answer.get_json()["results"]["bindings"]) == 2
