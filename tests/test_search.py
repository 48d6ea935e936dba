"""Search finds what people type: typos, affixes, acronyms and the passages' own words."""

from __future__ import annotations

import pytest
from babel.support import Translations

from service import search
from service.i18n import TRANSLATIONS
from service.store import get_store
from tests.pagehtml import parse

HTML = {"Accept": "text/html"}
DINARPUS = "/doc/organisation/dinarpus-kota-pekalongan"
DPMPTSP = "/doc/organisation/dpmptsp-kota-pekalongan"
PASSAGE = "/doc/passage/garudacitizen-2020-12-21-wbk-pekalongan/"
WBK = "/doc/designation/wbk"


def hits(client, query: str, lang: str = "id") -> list:
    """Return the hits of the first page of results, as parsed elements."""
    response = client.get("/search", query_string={"q": query, "lang": lang}, headers=HTML)
    assert response.status_code == 200
    return parse(response.data).find_all("li", class_="hit")


def href(hit) -> str:
    return hit.find("a").attrs["href"]


def marked(hit) -> list[str]:
    return [mark.text() for mark in hit.find_all("mark")]


@pytest.mark.parametrize(
    ("query", "expected", "mark"),
    [
        ("perpustakan", DINARPUS, "Perpustakaan"),  # a letter missing
        ("dinarpos", DINARPUS, "Dinarpus"),  # a letter wrong
        ("dpmtsp", DPMPTSP, "DPMPTSP"),  # an acronym with a letter missing
        ("koruosi", PASSAGE + "01", "koruosi"),  # the article's own typo, in its passage
        ("Wilayah Bebas Korupsi", WBK, "Korupsi"),  # a word of the label left out
        ("KKN", PASSAGE + "08", "KKN"),  # only in a passage's text
        ("21 desember", PASSAGE + "03", "Desember"),  # a date as the passage writes it
        ("prima", PASSAGE + "03", "prima"),  # an ordinary word of a passage
    ],
)
def test_search_finds_what_people_type(client, query, expected, mark):
    found = {href(hit): hit for hit in hits(client, query)}
    assert expected in found
    assert mark in marked(found[expected])


def test_search_finds_a_word_through_its_affixes(client):
    # "pustaka" is the stem of "perpustakaan"; "usulan" and "diusulkan" share "usul".
    assert DINARPUS in map(href, hits(client, "pustaka"))
    assert any(href(hit).startswith(PASSAGE) for hit in hits(client, "usulan"))


@pytest.mark.parametrize(("query", "first"), [("DPMPTSP", DPMPTSP), ("WBK", WBK), ("wbk", WBK)])
def test_search_puts_the_exact_acronym_first(client, query, first):
    found = hits(client, query)
    assert href(found[0]) == first
    assert found[0].attrs["data-rank"] == search.EXACT


def test_search_ranks_labels_before_passages_and_exact_before_similar(client):
    ranks = [hit.attrs["data-rank"] for hit in hits(client, "korupsi")]
    assert set(ranks) >= {search.WORDS, search.QUOTED}
    assert ranks == sorted(ranks, key=search.RANKS.index)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_search_explains_each_hit_in_the_readers_language(client, lang):
    catalogues = {code: Translations.load(TRANSLATIONS, [code]) for code in ("id", "en")}
    other = "en" if lang == "id" else "id"
    for query, rank in (("perpustakan", "similar"), ("KKN", "quoted"), ("WBK", "words")):
        found = [hit for hit in hits(client, query, lang) if hit.attrs["data-rank"] == rank]
        why = found[0].find("small", class_="why").text()
        own, foreign = (catalogues[c].gettext(f"search_why_{rank}") for c in (lang, other))
        assert why.startswith(own.split("(")[0].strip())
        assert foreign.split("(")[0].strip() not in why


@pytest.mark.parametrize(
    "query",
    ["x" * 200, "kota " * 300, "%%%$$$###", "😀\u200b\u0301~", "'\"<>{}()[]*:^", "OR AND NOT"],
)
def test_search_answers_long_or_garbled_queries_with_a_clean_page(client, query):
    response = client.get("/search", query_string={"q": query}, headers=HTML)
    assert response.status_code == 200
    page = parse(response.data)
    assert page.find("input", id="search-q").attrs["value"] == query[:200].strip()
    assert page.find("ol", class_="hits") or page.find("p", class_="no-results")


def test_the_store_build_saves_the_index_beside_the_store(store_dir):
    index = search.open_index(store_dir / search.INDEX_FOLDER)
    assert index is not None
    assert index.documents() > 200


def test_an_index_built_from_the_store_in_memory_finds_the_same(app):
    # What a remote store (or a store built without the index) does on its first search.
    with app.app_context():
        rows = get_store().query(search.ENTRIES_QUERY).rows
    in_memory = search.build(search.entries_of(rows))
    found = [match.node for match in in_memory.search("dinarpos").matches]
    assert found[0].endswith(DINARPUS.removeprefix("/doc/"))
