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
    assert all(s.attrs.get("src", "").startswith("/") for s in page.find_all("script"))
    assert not [s for s in page.find_all("script") if s.text().strip()]


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
    assert shown.find("span", class_="error-line").text() == "WHER { }"
    caret = shown.children[-1]  # under the spot: as many spaces as the column, then ^
    assert caret == " " * (int(shown.attrs["data-column"]) - 1) + "^"


ZI = "PREFIX zi: <https://w3id.org/zigraph/ontology#>\n"


def error_of(page):
    return page.find("section", class_="query-error")


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("id", "Prefiks zi: dipakai tetapi tidak dideklarasikan"),
        ("en", "The query uses 2 prefixes"),
    ],
)
def test_undeclared_prefix_names_the_prefix_lines_to_add(client, lang, words):
    query = "SELECT ?c ?n WHERE { ?c zi:recipient ?r . ?r schema:name ?n }"
    response = client.get("/query", query_string={"query": query, "lang": lang}, headers=HTML)
    assert response.status_code == 400
    error = error_of(parse(response.data))
    assert words in error.find("p", class_="error-text").text()
    assert error.find("pre", class_="prefix-lines").children[0].split("\n") == [
        "PREFIX zi: <https://w3id.org/zigraph/ontology#>",
        "PREFIX schema: <https://schema.org/>",
    ]


def test_undeclared_prefix_is_fixed_in_one_click_without_javascript(client):
    """Guards the no-script fix: the button's form sends the query with the lines prepended."""
    query = "SELECT ?c WHERE { ?c zi:recipient ?r }"
    fix = error_of(run(client, query, status=400)).find("form", class_="prefix-fix")
    assert fix.attrs["method"] == "get" and fix.attrs["action"] == "/query"
    fields = {i.attrs["name"]: i.attrs["value"] for i in fix.find_all("input")}
    assert fields["query"] == ZI + query
    answer = parse(client.get(fix.attrs["action"], query_string=fields, headers=HTML).data)
    assert error_of(answer) is None
    assert len(answer.find("table", class_="results").find_all("tr")) == 1 + 2


def test_an_unknown_prefix_asks_for_its_namespace(client):
    error = error_of(run(client, "SELECT ?x WHERE { ?x foo:bar ?y }", status=400))
    assert error.find("pre", class_="prefix-lines").text() == "PREFIX foo: <…>"
    assert error.find("form", class_="prefix-fix") is None


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("id", "Di sini diharapkan sebuah objek, tetapi yang ditemukan '}'."),
        ("en", "Expected an object here, but found '}'."),
    ],
)
def test_syntax_error_says_what_was_expected_and_marks_the_spot(client, lang, said):
    query = "SELECT ?x WHERE {\n  ?x a ?t .\n  ?x ?p\n}"
    response = client.get("/query", query_string={"query": query, "lang": lang}, headers=HTML)
    error = error_of(parse(response.data))
    assert error.find("p", class_="error-text").text() == said
    place = error.find("pre", class_="error-place")
    assert (place.attrs["data-line"], place.attrs["data-column"]) == ("4", "1")
    assert [n.text() for n in place.find_all("span", class_="line-no")][:3] == ["2", "3", "4"]
    assert place.find("mark", class_="error-spot").text() == "}"


def test_the_spot_is_marked_inside_a_line(client):
    place = error_of(run(client, "SELECT ?x WHERE { ?x ?p ?o ] }", status=400)).find(
        "pre", class_="error-place"
    )
    line = place.find("span", class_="error-line")
    assert line.text() == "SELECT ?x WHERE { ?x ?p ?o ] }"
    assert line.find("mark", class_="error-spot").text() == "]"
    assert line.children[0] == "SELECT ?x WHERE { ?x ?p ?o "


@pytest.mark.parametrize(
    ("query", "lang", "said"),
    [
        (
            "SELECT * WHERE { SERVICE <https://example.org/sparql> { ?s ?p ?o } }",
            "id",
            "SERVICE ditolak: titik akhir ini tidak mengirim kueri",
        ),
        (
            "SELECT * WHERE { SERVICE <https://example.org/sparql> { ?s ?p ?o } }",
            "en",
            "SERVICE is refused: this endpoint does not query other endpoints",
        ),
        (
            "PREFIX bif: <http://www.openlinksw.com/schemas/bif#>\n"
            "SELECT * WHERE { ?s ?p ?o FILTER(bif:contains(?o, 'x')) }",
            "id",
            "bif:contains memanggil fungsi yang bukan bagian dari SPARQL",
        ),
        ("INSERT DATA { <a:b> <a:c> <a:d> }", "id", "Titik akhir ini hanya menjawab kueri"),
        ("INSERT DATA { <a:b> <a:c> <a:d> }", "en", "This endpoint answers queries only"),
    ],
)
def test_refusals_are_explained_in_the_readers_language(client, query, lang, said):
    response = client.get("/query", query_string={"query": query, "lang": lang}, headers=HTML)
    assert response.status_code in (400, 403)
    assert said in error_of(parse(response.data)).find("p", class_="error-text").text()


MISSPELT = ZI + "SELECT ?c ?d WHERE { ?c zi:conferalDate ?d }"


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("id", "zi:conferalDate tidak ada dalam data; mungkin maksud Anda zi:conferralDate?"),
        ("en", "zi:conferalDate does not occur in the data; did you mean zi:conferralDate?"),
    ],
)
def test_a_misspelt_term_is_pointed_out_when_nothing_is_found(client, lang, said):
    response = client.get("/query", query_string={"query": MISSPELT, "lang": lang}, headers=HTML)
    hints = parse(response.data).find("section", class_="missing-terms")
    assert [li.children[0].strip() for li in hints.find_all("li")] == [said]


def test_the_suggested_term_is_put_in_with_one_click(client):
    hints = run(client, MISSPELT).find("section", class_="missing-terms")
    fields = {i.attrs["name"]: i.attrs["value"] for i in hints.find_all("input")}
    assert fields["query"] == MISSPELT.replace("conferalDate", "conferralDate")
    answer = parse(client.get("/query", query_string=fields, headers=HTML).data)
    assert answer.find("section", class_="missing-terms") is None
    assert len(answer.find("table", class_="results").find_all("tr")) == 1 + 2


def test_terms_that_occur_are_not_pointed_out(client):
    """Guards against false alarms: an entity, a class and a datatype that are all there."""
    query = (
        ZI + "SELECT ?x WHERE { <https://w3id.org/zigraph/id/organisation/dpmptsp-kota-pekalongan>"
        " a zi:Dinas ; zi:recipient ?x FILTER(?x = 1 || ?x = xsd:integer('2')) }"
    ).replace("xsd:integer", "<http://www.w3.org/2001/XMLSchema#integer>")
    page = run(client, query)
    assert page.find("table", class_="results") is None
    assert page.find("section", class_="missing-terms") is None


def test_a_full_iri_that_occurs_nowhere_is_named_without_a_guess(client):
    page = run(client, "SELECT ?p WHERE { <https://example.org/nothing-here> ?p ?o }")
    item = page.find("section", class_="missing-terms").find("li")
    assert (
        item.children[0].strip() == "https://example.org/nothing-here does not occur in the data."
    )
    assert item.find("form") is None


def test_editor_files_come_from_our_own_origin(client):
    page = parse(client.get("/query", headers=HTML).data)
    sources = [s.attrs["src"] for s in page.find_all("script")]
    styles = [link.attrs["href"] for link in page.find_all("link", rel="stylesheet")]
    assert "/query/editor/lib/codemirror.js" in sources
    assert "/query/editor/mode/sparql/sparql.js" in sources
    assert "/static/query-editor.js" in sources
    assert "/query/editor/lib/codemirror.css" in styles
    for url in sources + styles:
        assert url.startswith("/") and not url.startswith("//")
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.data


def test_editor_route_serves_only_the_pages_files(client):
    assert client.get("/query/editor/package.json").status_code == 404
    assert client.get("/query/editor/../package.json").status_code == 404
    assert client.get("/query/editor/mode/sql/sql.js").status_code == 404


def test_editor_completes_the_known_prefixes_and_terms(client):
    import json

    textarea = parse(client.get("/query", headers=HTML).data).find("textarea")
    completions = json.loads(textarea.attrs["data-completions"])
    assert completions["prefixes"]["zi"] == "https://w3id.org/zigraph/ontology#"
    assert completions["prefixes"]["skos"] == "http://www.w3.org/2004/02/skos/core#"
    assert "zi:conferralDate" in completions["terms"]
