"""The query page: examples, results as a table, yes/no or Turtle, errors, download links."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest

from service import resources
from tests.pagehtml import parse

HTML = {"Accept": "text/html"}
EXAMPLES = sorted(resources.folder("queries").glob("*.rq"))


def run(client, query: str, status: int = 200):
    response = client.get("/query", query_string={"query": query, "lang": "en"}, headers=HTML)
    assert response.status_code == status
    return parse(response.data)


def test_query_page_prefills_an_example_and_lists_all_examples(client):
    page = parse(client.get("/query", headers=HTML).data)
    textarea = page.find("textarea", name="query")
    assert "SELECT" in textarea.text() or "ASK" in textarea.text()
    listed = page.find("section", class_="examples").find_all("li")
    assert len(listed) == len(EXAMPLES)


def test_example_link_loads_that_example(client):
    page = parse(client.get(f"/query?example={EXAMPLES[1].stem}", headers=HTML).data)
    assert page.find("textarea").text() == " ".join(EXAMPLES[1].read_text().split())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_query_runs(client, path):
    page = run(client, path.read_text())
    assert page.by_id("results") is not None
    assert page.find("section", class_="query-error") is None


def test_select_results_are_a_table_linking_to_entity_pages(client):
    page = run(
        client,
        "PREFIX zi: <https://w3id.org/zigraph/ontology#> "
        "SELECT ?c ?year WHERE { ?c zi:recipient ?r ; zi:assessmentYear ?year }",
    )
    table = page.find("table", class_="results")
    assert [th.text() for th in table.find_all("th")] == ["?c", "?year"]
    rows = table.find_all("tr")[1:]
    assert len(rows) == 2
    assert rows[0].find("a").attrs["href"].startswith("/doc/conferral/")
    assert "xsd:gYear" in rows[0].text()


def test_ask_is_answered_yes_or_no(client):
    assert (
        run(client, "ASK { ?s ?p ?o }").find("p", class_="boolean-answer").text().startswith("Yes")
    )
    no = run(client, "ASK { <https://example.org/x> ?p ?o }")
    assert no.find("p", class_="boolean-answer").text().startswith("No")


def test_construct_is_shown_as_turtle(client):
    page = run(
        client,
        "PREFIX zi: <https://w3id.org/zigraph/ontology#> "
        "CONSTRUCT { ?c zi:recipient ?r } WHERE { ?c zi:recipient ?r }",
    )
    turtle = page.find("pre", class_="turtle").text()
    assert len(list(ox.parse(turtle.encode(), format=ox.RdfFormat.TURTLE))) == 2


def test_syntax_error_is_shown_readably(client):
    page = run(client, "SELECT ?x WHERE { ?x ", status=400)
    error = page.find("section", class_="query-error")
    assert error is not None and error.find("pre").text()
    assert page.find("textarea").text() == "SELECT ?x WHERE { ?x"


def test_service_clause_is_refused_on_the_page(client):
    page = run(client, "SELECT * WHERE { SERVICE <https://example.org/sparql> { ?s ?p ?o } }", 400)
    assert page.find("section", class_="query-error") is not None


def test_hostile_query_text_is_escaped(client):
    page = run(client, "SELECT * WHERE { ?s ?p '</textarea><script>alert(1)</script>' }")
    assert "</textarea><script>" in page.find("textarea").text()
    assert [s.attrs.get("src") for s in page.find_all("script")] == ["/static/zigraph.js"]


@pytest.mark.parametrize(
    ("query", "formats"),
    [
        ("SELECT * WHERE { ?s ?p ?o } LIMIT 1", {"json", "xml", "csv", "tsv"}),
        (
            "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1",
            {"ttl", "jsonld", "nt", "rdf", "trig", "nq"},
        ),
    ],
)
def test_results_link_to_every_download_format(client, query, formats):
    page = run(client, query)
    links = page.find("p", class_="result-downloads").find_all("a")
    found = set()
    for link in links:
        url = urlsplit(link.attrs["href"])
        assert url.path == "/sparql"
        params = parse_qs(url.query)
        assert params["query"] == [query]
        found.add(params["format"][0])
    assert found == formats


def test_sparql_endpoint_shows_the_query_page_to_browsers(client):
    response = client.get(
        "/sparql", query_string={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 200
    assert parse(response.data).find("p", class_="boolean-answer") is not None


@pytest.mark.parametrize("query_string", [{"query": "ASK { ?s ?p ?o }"}, {}])
def test_sparql_endpoint_page_varies_on_accept(client, query_string):
    """Guards the HTML answer of /sparql, which a cache could give to a SPARQL client."""
    response = client.get("/sparql", query_string=query_string, headers=HTML)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "accept" in response.vary


def test_long_results_show_a_page_of_rows_and_say_how_many_are_hidden(client, monkeypatch):
    from service.pages import query

    monkeypatch.setattr(query, "MOST_ROWS_SHOWN", 3)
    page = run(client, "SELECT ?s WHERE { ?s a <https://w3id.org/zigraph/ontology#Passage> }")
    assert len(page.find("table", class_="results").find_all("tr")) == 1 + 3
    assert page.find("p", class_="warning") is not None


def test_english_page_gives_the_examples_and_expected_answers_in_english(client):
    page = parse(client.get("/query?lang=en", headers=HTML).data)
    examples = page.find("section", class_="examples")
    first = examples.find("li")
    assert first.find("a").text().startswith("Which agencies received")
    assert first.find("small").text().startswith("Expected: Two rows")
    indonesian = parse(client.get("/query?lang=id", headers=HTML).data)
    assert (
        indonesian.find("section", class_="examples")
        .find("small")
        .text()
        .startswith("Hasil yang diharapkan: Dua baris")
    )


SELECT_AGENCIES = "SELECT ?s WHERE { ?s a <https://w3id.org/zigraph/ontology#Dinas> } ORDER BY ?s"


def test_results_say_how_long_they_took_and_toggle_labels_and_iris(client):
    page = parse(
        client.get(
            "/query", query_string={"query": SELECT_AGENCIES, "lang": "en"}, headers=HTML
        ).data
    )
    meta = page.find("p", class_="result-meta").text()
    assert meta.startswith("2 rows · ran in ") and " ms" in meta
    assert page.find("table", class_="results").find("td").text().endswith("Agency")
    toggle = page.find("p", class_="result-meta").find("a")
    assert toggle.text() == "show IRIs" and "raw=1" in toggle.attrs["href"]
    raw = parse(client.get(toggle.attrs["href"].split("#")[0], headers=HTML).data)
    cell = raw.find("table", class_="results").find("td")
    assert cell.find("code").text().startswith("https://w3id.org/zigraph/id/organisation/")


def test_one_result_row_is_counted_in_the_singular(client):
    query = SELECT_AGENCIES.replace("ORDER BY ?s", "LIMIT 1")
    page = parse(
        client.get("/query", query_string={"query": query, "lang": "en"}, headers=HTML).data
    )
    assert page.find("p", class_="result-meta").text().startswith("1 row ·")


@pytest.mark.parametrize(
    "message",
    ["Syntax error at line 2, column 5: Expected SelectQuery", "error at 2:5: expected one of ABS"],
)
def test_a_syntax_error_names_its_place_in_the_query(message):
    from service.pages.query import error_place

    place = error_place("SELECT *\nWHER { }", message)
    assert (place.line, place.column, place.text) == (2, 5, "WHER { }")
    assert error_place("SELECT *", "line 9, column 1: no such line") is None


def test_syntax_error_shows_the_line_with_a_caret(client):
    page = parse(
        client.get("/query", query_string={"query": "SELECT *\nWHER { }"}, headers=HTML).data
    )
    shown = page.find("pre", class_="error-place")
    assert shown is not None
    line, caret = shown.children[0].split("\n")
    assert line == "WHER { }" and caret.endswith("^")
    assert len(caret) == int(shown.attrs["data-column"])
