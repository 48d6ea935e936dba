"""The DCAT-AP catalogue, the description pages, link previews and the tables as CSV (issue 18).

What the catalogue must state is asserted here on the parsed graph, without SEMIC's shapes;
bench/dcat_ap.py checks it against them (bench/results/dcat-ap.md).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, PROV, SKOS, XSD

from service import create_app, dataset
from service.namespaces import DATASET_IRI, EU_AUTHORITY, ZI
from service.store import building
from tests.conftest import shipped_graph
from tests.pagehtml import parse

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SCHEMA = Namespace("https://schema.org/")
DATASET = URIRef(DATASET_IRI)
PUBLIC = "https://data.example.go.id"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
INDONESIAN = URIRef(EU_AUTHORITY + "language/IND")
ENGLISH = URIRef(EU_AUTHORITY + "language/ENG")
KOTA_PEKALONGAN = URIRef("http://www.wikidata.org/entity/Q11026")
CONFERRAL = str(ZI.DesignationConferral)


def catalogue(client, **query) -> Graph:
    answer = client.get("/catalog", query_string=query, headers={"Accept": "text/turtle"})
    assert answer.status_code == 200
    return Graph().parse(data=answer.get_data(as_text=True), format="turtle")


def languages(graph: Graph, subject, predicate) -> set[str]:
    return {o.language for o in graph.objects(subject, predicate) if isinstance(o, Literal)}


def one(graph: Graph, subject, predicate):
    (value,) = graph.objects(subject, predicate)
    return value


@pytest.fixture
def public_app(store_dir, shipped_backend):
    """Return the application over the shipped data, with a public URL of its own."""
    application = create_app({"TESTING": True, "STORE_DIR": str(store_dir), "PUBLIC_URL": PUBLIC})
    application.extensions["zigraph.store"] = shipped_backend
    return application


def test_catalogue_states_dcat_ap_mandatory_and_recommended_properties_in_both_languages(client):
    graph = catalogue(client)
    (catalog,) = graph.subjects(RDF.type, DCAT.Catalog)
    for subject in (catalog, DATASET):
        assert languages(graph, subject, DCTERMS.title) == {"id", "en"}
        assert languages(graph, subject, DCTERMS.description) == {"id", "en"}
        publisher = one(graph, subject, DCTERMS.publisher)
        assert (publisher, RDF.type, FOAF.Agent) in graph
        assert languages(graph, publisher, FOAF.name) == {"id", "en"}
        assert set(graph.objects(subject, DCTERMS.language)) == {INDONESIAN, ENGLISH}
        assert one(graph, subject, DCTERMS.issued).datatype == XSD.dateTime
        assert one(graph, subject, DCTERMS.modified).datatype == XSD.dateTime
        assert KOTA_PEKALONGAN in set(graph.objects(subject, DCTERMS.spatial))
        assert (KOTA_PEKALONGAN, RDF.type, DCTERMS.Location) in graph
    assert one(graph, catalog, DCAT.dataset) == DATASET
    contact = one(graph, DATASET, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Kind) in graph
    assert set(graph.objects(contact, VCARD.fn)) and set(graph.objects(contact, VCARD.hasURL))
    assert languages(graph, DATASET, DCAT.keyword) == {"id", "en"}


def test_temporal_and_spatial_coverage_come_from_the_data(client):
    graph = catalogue(client)
    period = one(graph, DATASET, DCTERMS.temporal)
    assert (period, RDF.type, DCTERMS.PeriodOfTime) in graph
    # The years of every dated value of the data files, read by rdflib (not the store):
    # the article's 2020 ceremony and the "next year" it names, the regulations' years.
    data = shipped_graph("graph_data")
    dated = {XSD.date, XSD.dateTime, XSD.gYear, XSD.gYearMonth}
    years = [int(str(o)[:4]) for o in data.objects() if getattr(o, "datatype", None) in dated]
    assert one(graph, period, DCAT.startDate) == Literal(f"{min(years)}", datatype=XSD.gYear)
    assert one(graph, period, DCAT.endDate) == Literal(f"{max(years)}", datatype=XSD.gYear)
    assert max(years) == 2021
    place = URIRef("https://w3id.org/zigraph/id/place/kota-pekalongan")
    assert (place, SCHEMA.sameAs, KOTA_PEKALONGAN) in graph


def test_every_distribution_has_access_and_download_url_and_eu_file_type(client):
    graph = catalogue(client)
    distributions = set(graph.objects(DATASET, DCAT.distribution))
    assert len(distributions) == 6
    for distribution in distributions:
        assert one(graph, distribution, DCAT.accessURL) == distribution
        assert one(graph, distribution, DCAT.downloadURL) == distribution
        assert str(one(graph, distribution, DCAT.mediaType)).startswith(
            "https://www.iana.org/assignments/media-types/"
        )
        assert str(one(graph, distribution, DCTERMS.format)).startswith(EU_AUTHORITY + "file-type/")
        assert languages(graph, distribution, DCTERMS.title) == {"id", "en"}
    formats = {str(one(graph, d, DCTERMS.format)).rsplit("/", 1)[1] for d in distributions}
    assert formats == {
        "RDF_TURTLE",
        "JSON_LD",
        "RDF_N_TRIPLES",
        "RDF_XML",
        "RDF_TRIG",
        "RDF_N_QUADS",
    }


def test_sparql_endpoint_is_a_data_service_serving_the_dataset(public_app):
    graph = catalogue(public_app.test_client())
    service = URIRef(f"{PUBLIC}/sparql")
    assert (service, RDF.type, DCAT.DataService) in graph
    assert one(graph, service, DCAT.endpointURL) == service
    assert one(graph, service, DCAT.servesDataset) == DATASET
    assert languages(graph, service, DCTERMS.title) == {"id", "en"}


def test_catalogue_settings_name_the_publisher_contact_title_places_and_themes(store_dir):
    settings = {
        "PUBLISHER_NAME": "Diskominfo Kota Pekalongan",
        "CONTACT_EMAIL": "data@example.go.id",
        "DATASET_TITLE_ID": "Predikat Zona Integritas",
        "DATASET_TITLE_EN": "Zona Integritas designations",
        "DATASET_KEYWORDS_ID": "zona integritas, WBK",
        "DATASET_SPATIAL": EU_AUTHORITY + "country/IDN",
        "DATASET_THEMES": "GOVE",
        "DATASET_ISSUED": "2021-01-04",
    }
    app = create_app({"TESTING": True, "STORE_DIR": str(store_dir), **settings})
    try:
        graph = catalogue(app.test_client())
    finally:
        app.extensions["zigraph.store"].close()
    publisher = one(graph, DATASET, DCTERMS.publisher)
    assert one(graph, publisher, FOAF.name) == Literal("Diskominfo Kota Pekalongan")
    contact = one(graph, DATASET, DCAT.contactPoint)
    assert one(graph, contact, VCARD.hasEmail) == URIRef("mailto:data@example.go.id")
    assert Literal("Predikat Zona Integritas", lang="id") in set(
        graph.objects(DATASET, DCTERMS.title)
    )
    keywords = {str(k) for k in graph.objects(DATASET, DCAT.keyword) if k.language == "id"}
    assert keywords == {"zona integritas", "WBK"}
    assert URIRef(EU_AUTHORITY + "country/IDN") in set(graph.objects(DATASET, DCTERMS.spatial))
    theme = URIRef(EU_AUTHORITY + "data-theme/GOVE")
    assert one(graph, DATASET, DCAT.theme) == theme
    assert languages(graph, theme, SKOS.prefLabel) == {"id", "en"}
    assert one(graph, DATASET, DCTERMS.issued) == Literal("2021-01-04", datatype=XSD.date)


def _newest_modification(files: list[dataset.SourceFile]) -> datetime:
    return datetime.fromtimestamp(int(max(os.path.getmtime(f.path) for f in files)), UTC)


def _claims(store: Path, **settings) -> tuple[str, str]:
    """Return the catalogue's dct:modified and the Last-Modified of /catalog and a dump."""
    app = create_app({"TESTING": True, "STORE_DIR": str(store), **settings})
    try:
        client = app.test_client()
        answer = client.get("/catalog", headers={"Accept": "text/turtle"})
        graph = Graph().parse(data=answer.get_data(as_text=True), format="turtle")
        assert (
            client.get("/download/zigraph.nt").headers["Last-Modified"]
            == (answer.headers["Last-Modified"])
        )
        modified = one(graph, DATASET, DCTERMS.modified).toPython().astimezone(UTC)
        return modified.strftime("%Y-%m-%dT%H:%M:%SZ"), answer.headers["Last-Modified"]
    finally:
        app.extensions["zigraph.store"].close()


def test_modified_is_the_data_time_so_a_new_build_of_the_same_files_claims_no_change(tmp_path):
    files = dataset.files_for([Path(__file__).parent / "data" / "sparql"], "graph_data")
    first = building.prepare_store(files, tmp_path / "first", validate=False)[1]
    second = building.prepare_store(files, tmp_path / "second", validate=False)[1]
    assert first["fingerprint"] == second["fingerprint"]
    claimed = _claims(tmp_path / "first")
    assert _claims(tmp_path / "second") == claimed
    newest = _newest_modification(files)
    assert claimed[0] == newest.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert claimed[1] == newest.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert first["built"] != claimed[0] or newest.year < 2000  # not the build time


def test_modified_follows_the_files_not_the_build(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(Path(__file__).parent / "data" / "sparql", folder)
    files = dataset.files_for([folder], "graph_data")
    moment = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()
    for source in files:
        os.utime(source.path, (moment, moment))
    building.prepare_store(files, tmp_path / "store", validate=False)
    assert _claims(tmp_path / "store")[0] == "2021-03-04T05:06:07Z"
    # A deployment that states its data's time (from a checkout: the last commit's) wins.
    assert _claims(tmp_path / "store", DATA_MODIFIED="2024-05-06T07:08:09Z") == (
        "2024-05-06T07:08:09Z",
        "Mon, 06 May 2024 07:08:09 GMT",
    )


@pytest.mark.parametrize(
    ("path", "lang", "heading"),
    [
        ("/catalog", "id", "Katalog DCAT"),
        ("/catalog", "en", "DCAT catalogue"),
        ("/.well-known/void", "id", "Deskripsi VoID"),
        ("/.well-known/void", "en", "VoID description"),
    ],
)
def test_a_browser_gets_the_description_as_a_page_in_its_language(client, path, lang, heading):
    answer = client.get(path, query_string={"lang": lang}, headers={"Accept": BROWSER})
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = parse(answer.get_data(as_text=True))
    assert page.find_all("h1")[0].text() == heading
    machine = {a.attrs["href"] for a in page.find_all("a") if "format=" in a.attrs.get("href", "")}
    assert {f"{path}?format=ttl", f"{path}?format=jsonld"} <= machine
    for href in (f"{path}?format=ttl", f"{path}?format=jsonld"):
        rdf = client.get(href, headers={"Accept": BROWSER})
        assert rdf.mimetype in ("text/turtle", "application/ld+json")
    downloads = {a.attrs["href"] for a in page.find_all("a")}
    assert "http://127.0.0.1:5000/download/zigraph.ttl" in downloads


def test_the_catalogue_page_shows_the_dataset_in_the_readers_language(client):
    page = parse(client.get("/catalog?lang=en", headers={"Accept": BROWSER}).get_data(as_text=True))
    headings = [h.text() for h in page.find_all("h2")]
    assert "Dataset: Knowledge graph served by zigraph" in headings
    terms = [dt.text() for dt in page.find_all("dt")]
    assert {"language", "keyword", "temporal coverage", "contact point"} <= set(terms)
    languages_shown = [
        dd.text()
        for dt, dd in zip(page.find_all("dt"), page.find_all("dd"), strict=True)
        if dt.text() == "language"
    ]
    assert "English, Indonesian" in languages_shown


def test_the_void_page_lists_the_class_partitions(client):
    page = parse(
        client.get("/.well-known/void", headers={"Accept": BROWSER}).get_data(as_text=True)
    )
    rows = [tr.text() for tr in page.find_all("tr")]
    assert any(row.startswith("penganugerahan predikat") for row in rows), rows


@pytest.mark.parametrize("accept", [None, "text/turtle", "*/*", "application/ld+json"])
def test_machines_keep_getting_rdf(client, accept):
    headers = {"Accept": accept} if accept else {}
    for path in ("/catalog", "/.well-known/void"):
        answer = client.get(path, headers=headers)
        assert answer.mimetype in ("text/turtle", "application/ld+json")


def meta(page) -> dict[str, str]:
    return {
        m.attrs.get("property") or m.attrs.get("name"): m.attrs.get("content", "")
        for m in page.find_all("meta")
        if m.attrs.get("property") or m.attrs.get("name")
    }


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/browse",
        f"/browse/class?iri={CONFERRAL.replace('#', '%23')}",
        "/doc/conferral/wbk-2020-dpmptsp-kota-pekalongan",
        "/catalog",
        "/query",
    ],
)
@pytest.mark.parametrize(("lang", "locale"), [("id", "id_ID"), ("en", "en_US")])
def test_every_page_carries_a_description_and_open_graph_tags(public_app, path, lang, locale):
    client = public_app.test_client()
    separator = "&" if "?" in path else "?"
    answer = client.get(f"{path}{separator}lang={lang}", headers={"Accept": BROWSER})
    assert answer.status_code == 200
    page = parse(answer.get_data(as_text=True))
    tags = meta(page)
    title = page.find_all("title")[0].text()
    assert tags["og:title"] and title.startswith(tags["og:title"])
    assert len(tags["description"]) > 20 and tags["og:description"] == tags["description"]
    assert tags["og:url"] == f"{PUBLIC}{path}{separator}lang={lang}"
    assert tags["og:locale"] == locale
    assert tags["og:type"] in ("website", "article")


def test_a_pages_description_is_its_own_text(client):
    page = parse(
        client.get("/doc/conferral/wbk-2020-dpmptsp-kota-pekalongan?lang=en").get_data(as_text=True)
    )
    summary = page.find_all(class_="summary")[0].text()
    assert summary.startswith(meta(page)["description"].removesuffix("...").strip())
    assert meta(page)["og:type"] == "article"


def read_csv(answer) -> list[dict[str, str]]:
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


def derived_from(client, iri: str) -> set[str]:
    answer = client.get(
        "/sparql",
        query_string={"query": f"SELECT ?s WHERE {{ <{iri}> <{PROV.wasDerivedFrom}> ?s }}"},
        headers={"Accept": "application/sparql-results+json"},
    )
    return {b["s"]["value"] for b in answer.get_json()["results"]["bindings"]}


def test_the_conferrals_csv_has_a_source_column_naming_the_passages(client):
    page = parse(client.get("/?lang=en").get_data(as_text=True))
    (link,) = [a for a in page.find_all("a") if a.text() == "CSV"]
    rows = read_csv(client.get(link.attrs["href"] + "?lang=en"))
    assert [r["recipient_label_en"] for r in rows] == [
        "Pekalongan City Archives and Library Agency",
        "Pekalongan City Investment and One-Stop Integrated Services Agency",
    ]
    for row in rows:
        assert row["assessment_year"] == "2020" and row["conferral_date"] == "2020-12-21"
        sources = row["source"].split()
        assert sources == sorted(derived_from(client, row["conferral"]))
        assert all("/id/passage/" in source for source in sources)


def test_a_class_page_links_its_members_as_csv(client):
    query = {"iri": CONFERRAL, "lang": "id"}
    page = parse(client.get("/browse/class", query_string=query).get_data(as_text=True))
    (link,) = [a for a in page.find_all("a") if a.text() == "CSV"]
    answer = client.get(link.attrs["href"])
    assert (
        answer.headers["Content-Disposition"] == 'attachment; filename="designation-conferral.csv"'
    )
    rows = read_csv(answer)
    assert list(rows[0]) == ["iri", "label_id", "source"]
    members = [li.text() for li in page.find_all("ol")[0].find_all("li")]
    assert sorted(r["label_id"] for r in rows) == sorted(members)
    assert all(r["source"].split() == sorted(derived_from(client, r["iri"])) for r in rows)


def test_a_csv_past_the_result_limit_says_it_was_cut(store_dir, shipped_backend):
    app = create_app({"TESTING": True, "STORE_DIR": str(store_dir), "RESULT_LIMIT": 1})
    app.extensions["zigraph.store"] = shipped_backend
    answer = app.test_client().get("/conferrals.csv")
    assert len(read_csv(answer)) == 1
    assert answer.headers["X-Zigraph-Result-Truncated"] == "true"
