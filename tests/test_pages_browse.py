"""Home, class lists, search, the interface language and the headers every page carries."""

from __future__ import annotations

import pytest

from service.namespaces import ZI
from tests.pagehtml import parse

HTML = {"Accept": "text/html"}
AGENCY_PAGE = "/doc/organisation/dpmptsp-kota-pekalongan"
PAGES = ["/", "/browse", "/search?q=wbk", "/ontology", "/shapes", "/validation", "/query"]


def get_page(client, url, **headers):
    response = client.get(url, headers={**HTML, **headers})
    assert response.status_code == 200, url
    return parse(response.data)


def test_home_says_what_the_dataset_is_and_where_it_comes_from(client):
    page = get_page(client, "/")
    assert page.find("h1").text() == "Graf pengetahuan Zona Integritas"
    hrefs = {a.attrs["href"] for a in page.find_all("a")}
    assert "/doc/article/garudacitizen-2020-12-21-wbk-pekalongan" in hrefs
    assert {"/browse", "/search", "/query", "/ontology", "/shapes", "/validation"} <= hrefs
    assert {f"/download/zigraph.{ext}" for ext in ("ttl", "jsonld", "nq", "trig")} <= hrefs


def test_home_counts_classes_and_shows_the_2020_designations(client):
    page = get_page(client, "/?lang=en")
    counts = {
        row.find("a").text(): int(row.find_all("td")[1].text())
        for row in page.find("table", class_="counts").find_all("tr")[1:]
    }
    assert counts["designation conferral"] == 2
    glance = page.find_all("table")[0].text()
    assert "Pekalongan City Investment" in glance and "21 December 2020" in glance
    assert page.find("svg", class_="funnel-svg") is not None


def test_home_table_links_each_conferral_in_its_own_column(client):
    page = get_page(client, "/?lang=en")
    glance = page.find_all("table")[0]
    headers = [th.text() for th in glance.find_all("th")]
    assert headers[-2] == "Conferral"
    for row in glance.find("tbody").find_all("tr"):
        assert row.find_all("td")[-2].find("a").attrs["href"].startswith("/doc/conferral/")


def test_home_table_cites_each_rows_source_document_and_passages(client):
    page = get_page(client, "/?lang=en")
    glance = page.find("table", class_="conferrals")
    assert [th.text() for th in glance.find_all("th")][-1] == "Source"
    for row in glance.find("tbody").find_all("tr"):
        cell = row.find_all("td")[-1]
        links = cell.find_all("a")
        assert links[0].text() == "Garudacitizen"
        assert links[0].attrs["href"] == "/doc/article/garudacitizen-2020-12-21-wbk-pekalongan"
        places = [(a.text(), a.attrs["title"]) for a in cell.find_all("a", class_="source-place")]
        assert places and ("1.1", "paragraph 1, sentence 1") in places
        assert places == sorted(places, key=lambda p: [int(n) for n in p[0].split(".")])


def test_home_table_names_every_cell_by_its_column_for_a_phone(client):
    page = get_page(client, "/?lang=id")
    glance = page.find("table", class_="conferrals")
    headers = [th.text() for th in glance.find_all("th")]
    assert "Diberikan oleh" in headers and "Penetapan" in headers and "Sumber" in headers
    for row in glance.find("tbody").find_all("tr"):
        assert [td.attrs["data-label"] for td in row.find_all("td")] == headers


def test_home_lists_the_readers_classes_first_and_technical_ones_apart(client):
    page = get_page(client, "/?lang=en")
    tables = page.find_all("table", class_="counts")
    main = [row.find("a").attrs["title"] for row in tables[0].find_all("tr")[1:]]
    assert main[0] == str(ZI.DesignationConferral)
    technical = page.find("details", class_="technical-classes")
    hidden = [row.find("a").attrs["title"] for row in technical.find_all("tr")[1:]]
    for selector in ("http://www.w3.org/ns/oa#TextQuoteSelector", str(ZI.ReferenceData)):
        assert selector in hidden and selector not in main


def test_home_browse_and_ontology_count_a_class_with_its_subclasses_alike(client):
    fact = str(ZI.AttestedFact)
    home = get_page(client, "/?lang=en")
    on_home = {
        row.find("a").attrs["title"]: (row.find_all("td")[1].text(), table)
        for table in home.find_all("table", class_="counts")
        for row in table.find_all("tr")[1:]
    }
    header = on_home[fact][1].find_all("th")[1].text()
    assert header == "Members (subclasses included)"
    browse = get_page(client, "/browse?lang=en")
    on_browse = {
        a.attrs["title"]: li.find("span", class_="count").text()
        for li in browse.find_all("li")
        if (a := li.find("a")) is not None and li.find("span", class_="count") is not None
    }
    ontology = get_page(client, "/ontology?lang=en")
    term = ontology.by_id("AttestedFact")
    facts = {dt.text(): dd for dt, dd in zip(term.find_all("dt"), term.find_all("dd"), strict=True)}
    assert int(on_home[fact][0]) > 0
    assert on_home[fact][0] == on_browse[fact] == facts[header].text()


def test_home_offers_entry_points_before_the_class_table_and_every_dump(client):
    page = get_page(client, "/?lang=en")
    headings = [h.attrs.get("id") for h in page.find_all("h2")]
    assert headings.index("entry-h") < headings.index("counts-h")
    assert len(headings) == len(set(headings))
    dumps = {a.attrs["href"] for a in page.by_id("downloads").find_all("a")}
    assert {f"/download/zigraph.{e}" for e in ("ttl", "jsonld", "nq", "trig", "nt", "rdf")} <= dumps
    assert {"/.well-known/void", "/catalog"} <= dumps
    footer = page.find("footer")
    assert footer.find("a", rel="license noopener external").text() == "CC-BY-4.0"


def test_class_page_counts_instances_of_subclasses(client):
    page = get_page(
        client, "/browse/class?iri=https://w3id.org/zigraph/ontology%23PublicOrganisation"
    )
    assert len(page.find("ol", class_="instances").find_all("li")) == 6
    facts = page.find("dl", class_="term-facts").text()
    assert "kementerian" in facts and "organisasi pemerintah" in facts
    assert page.find("p", class_="description").text()


def test_browse_shows_the_class_hierarchy(client):
    page = get_page(client, "/browse?lang=en")
    top = page.find("ul", class_="class-tree")
    public = next(li for li in top.find_all("li") if li.find("a").text() == "public organisation")
    children = [li.find("a").text() for li in public.find("ul").find_all("li")]
    assert "ministry" in children and "regional agency" in children


def test_class_page_lists_instances_sorted_and_paginated(client, monkeypatch):
    from service.pages import browse

    monkeypatch.setattr(browse, "PER_PAGE", 1)
    url = f"/browse/class?iri={ZI.Passage}".replace("#", "%23")
    first = get_page(client, url)
    assert len(first.find("ol", class_="instances").find_all("li")) == 1
    assert first.find("a", rel="next") is not None
    ascending = [get_page(client, f"{url}&page={n}").find("ol").text() for n in (1, 2, 3)]
    descending = [get_page(client, f"{url}&sort=desc&page={n}").find("ol").text() for n in (1, 2)]
    assert ascending == sorted(ascending, key=str.casefold)
    assert descending == sorted(descending, key=str.casefold, reverse=True)


def test_browse_lists_classes_with_links_to_their_pages(client):
    page = get_page(client, "/browse")
    assert any("/browse/class?iri=" in a.attrs["href"] for a in page.find_all("a"))


def hits(client, query: str) -> list[str]:
    page = get_page(client, f"/search?q={query}")
    return [li.find("a").attrs["href"] for li in page.find_all("li", class_="hit")]


@pytest.mark.parametrize("query", ["DPMPTSP", "dpmptsp", "Penanaman Modal", "One-Stop"])
def test_search_finds_the_agency_by_acronym_or_label_in_either_language(client, query):
    assert AGENCY_PAGE in hits(client, query)


def test_search_ignores_case_and_accents(client):
    assert AGENCY_PAGE in hits(client, "DPMPTŚP")
    assert AGENCY_PAGE in hits(client, "pénanaman modal")


def test_search_without_match_says_so(client):
    page = get_page(client, "/search?q=zzzqqq")
    assert page.find("p", class_="no-results") is not None


def test_search_escapes_hostile_input(client):
    hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    response = client.get("/search", query_string={"q": hostile}, headers=HTML)
    body = response.get_data(as_text=True)
    assert "<script>alert(1)" not in body and "<img src=x" not in body
    page = parse(body)
    assert page.find("input", id="search-q").attrs["value"] == hostile
    assert [s.attrs.get("src") for s in page.find_all("script")] == ["/static/zigraph.js"]


def test_language_is_indonesian_by_default(client):
    page = get_page(client, "/")
    assert page.find("html").attrs["lang"] == "id"
    assert page.find("nav").find("a").text() == "Beranda"


def test_lang_parameter_switches_to_english_and_is_remembered(client):
    response = client.get("/?lang=en", headers=HTML)
    assert "zigraph_lang=en" in response.headers["Set-Cookie"]
    page = parse(response.data)
    assert page.find("html").attrs["lang"] == "en"
    assert page.find("nav").find("a").text() == "Home"
    remembered = get_page(client, "/browse")
    assert remembered.find("html").attrs["lang"] == "en"
    switch = remembered.find("a", class_="lang-switch")
    assert "lang=id" in switch.attrs["href"]


def test_accept_language_chooses_english(client):
    page = get_page(client, "/", **{"Accept-Language": "en-GB,en;q=0.9"})
    assert page.find("html").attrs["lang"] == "en"


@pytest.mark.parametrize("url", [*PAGES, AGENCY_PAGE, "/doc/nothing-here"])
def test_html_pages_carry_the_security_headers(client, url):
    response = client.get(url, headers=HTML)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"]


@pytest.mark.parametrize("url", [*PAGES, AGENCY_PAGE])
def test_pages_have_no_inline_script_or_style(client, url):
    page = get_page(client, url)
    for script in page.find_all("script"):
        assert script.attrs.get("src") or script.attrs.get("type") == "application/ld+json"
    assert not page.find_all("style")
    assert not [e for e in page.iter() if "style" in e.attrs or "onclick" in e.attrs]


@pytest.mark.parametrize("url", [*PAGES, AGENCY_PAGE])
def test_pages_are_accessible_in_structure(client, url):
    page = get_page(client, url)
    assert page.find("meta", name="viewport") is not None
    assert len(page.find_all("h1")) == 1
    levels = [int(e.tag[1]) for e in page.iter() if e.tag in ("h1", "h2", "h3", "h4")]
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    for svg in page.find_all("svg"):
        # An image may not hold links (axe: nested-interactive); a picture with links is a group.
        expected = "group" if svg.find("a") is not None else "img"
        assert svg.attrs["role"] == expected and svg.find("title") is not None


@pytest.mark.parametrize("url", ["/static/zigraph.css", "/static/zigraph.js"])
def test_static_assets_are_served_by_us(client, url):
    response = client.get(url)
    assert response.status_code == 200
    response.close()


def test_other_errors_use_the_site_layout(client):
    response = client.get("/no/such/page", headers=HTML)
    assert response.status_code == 404
    page = parse(response.data)
    assert page.find("html").attrs["lang"] == "id"
    assert page.find("form", role="search") is not None
    assert "<b>" not in response.get_data(as_text=True).split("<main", 1)[1].replace(
        "&lt;b&gt;", ""
    )


def test_large_class_page_shows_one_page_of_members_with_the_total_and_links(client, monkeypatch):
    from urllib.parse import parse_qs, urlsplit

    from service.pages import browse

    def count_and_pages(page) -> list[str]:
        return [p.text() for p in page.find_all("p") if any(c.isdigit() for c in p.text())]

    monkeypatch.setattr(browse, "PER_PAGE", 2)
    url = f"/browse/class?iri={ZI.Passage}".replace("#", "%23")
    sorted_by_label = get_page(client, url)
    monkeypatch.setattr(browse, "LABEL_SORTED_MEMBERS", 2)
    first, second = get_page(client, url), get_page(client, f"{url}&page=2")
    members = [
        [a.attrs["href"] for a in page.find("ol", class_="instances").find_all("a")]
        for page in (first, second)
    ]
    assert [len(m) for m in members] == [2, 2]
    assert members[0] + members[1] == sorted(members[0] + members[1])
    assert count_and_pages(first) == count_and_pages(sorted_by_label) != []
    assert first.find("a", rel="next") is not None and first.find("a", rel="prev") is None
    assert second.find("a", rel="prev") is not None
    query = first.find("a", class_="members-query").attrs["href"]
    assert urlsplit(query).path == "/query"
    assert str(ZI.Passage) in parse_qs(urlsplit(query).query)["query"][0]


def test_home_shows_the_first_designations_and_a_query_for_all_of_them(client, monkeypatch):
    from urllib.parse import parse_qs, urlsplit

    from service.pages import browse

    monkeypatch.setattr(browse, "HOME_ROWS", 1)
    page = get_page(client, "/?lang=en")
    glance = page.find_all("table")[0]
    assert len(glance.find("tbody").find_all("tr")) == 1
    queries = [
        parse_qs(urlsplit(a.attrs["href"]).query)["query"][0]
        for a in page.find_all("a")
        if a.attrs["href"].startswith("/query?")
    ]
    assert any(str(ZI.DesignationConferral) in query for query in queries)
