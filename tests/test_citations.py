"""Every citation in the data points at words that state it; ready citations come from the data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from service import dataset, resources
from service.citations import date_mentions, stated_values
from service.namespaces import ID_BASE, PREFIXES

SPARQL_PREFIXES = "\n".join(f"PREFIX {prefix}: <{iri}>" for prefix, iri in PREFIXES.items())
PASSAGES = ID_BASE + "passage/garudacitizen-2020-12-21-wbk-pekalongan/"
CONFERRAL = ID_BASE + "conferral/wbk-2020-dpmptsp-kota-pekalongan"
# Properties that say where a node's data comes from, or what it is, not what the source states.
NOT_STATED = {
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
    "http://www.w3.org/ns/prov#wasDerivedFrom",
    "http://www.w3.org/2004/02/skos/core#scopeNote",
}

# Citations whose passage states the fact in other words than any value or name of the node.
# (node path, passage number): why the passage is the right one all the same.
PARAPHRASED = {
    ("statement/beno-heritriono-dua-opd-meraih-wbk-2020", "01"): (
        "the statement's content: the passage is what Beno conveyed ('Hal ini disampaikan')"
    ),
    ("statement/beno-heritriono-11-opd-diusulkan-3-dinilai", "05"): (
        "reported speech continued: the approval of 3 of the 11, which the label summarises"
    ),
    ("statement/beno-heritriono-11-opd-diusulkan-3-dinilai", "06"): (
        "reported speech ('Menurutnya'); the three OPD it names are the topic's stage members"
    ),
    ("statement/beno-heritriono-capaian-setelah-usulan-sebelumnya", "07"): (
        "reported speech ('lanjutnya'); the statement's label summarises it"
    ),
    ("statement/beno-heritriono-2-opd-ditetapkan-wbk", "08"): (
        "the quotation itself ('terangnya'): the passage is its words, its label a summary"
    ),
    ("pipeline/kota-pekalongan-2020", "06"): (
        "names the three members of the pipeline's second stage (zi:hasStage), not the pipeline's"
    ),
    ("commemoration/hari-anti-korupsi-sedunia-2020", "03"): (
        "'peringatan Hari Anti-Korupsi Sedunia': the commemoration's name without its year"
    ),
}


@pytest.fixture(scope="module")
def store(shipped_dataset: dataset.LoadedDataset) -> ox.Store:
    store = ox.Store()
    store.bulk_extend(shipped_dataset.quads)
    return store


def select(store: ox.Store, query: str) -> list[dict]:
    results = store.query(SPARQL_PREFIXES + query, use_default_graph_as_union=True)
    names = [v.value for v in results.variables]
    return [{name: row[name] for name in names} for row in results]


def names_of(store: ox.Store, value: ox.NamedNode | ox.Literal) -> list[str]:
    """Return how a source may write a value: its labels and acronyms, or the literal itself."""
    if isinstance(value, ox.Literal):
        return date_mentions(value.value)
    rows = select(
        store,
        f"""SELECT ?name WHERE {{ <{value.value}>
            skos:prefLabel|skos:altLabel|skos:hiddenLabel|schema:alternateName|skos:notation
            ?name }}""",
    )
    return [row["name"].value for row in rows]


def stated_by_passage(store: ox.Store, node: str, passage: str) -> set[str]:
    """Return the values of the node that the passage states, read as the pages read them."""
    values = select(store, f"SELECT ?p ?o WHERE {{ <{node}> ?p ?o }}")
    names = {
        f"{row['p'].value} {row['o']}": names_of(store, row["o"])
        for row in values
        if row["p"].value not in NOT_STATED and not isinstance(row["o"], ox.BlankNode)
    }
    exact = select(store, f"SELECT ?e WHERE {{ <{passage}> oa:hasSelector/oa:exact ?e }}")
    return stated_values(exact[0]["e"].value, names)


def citations(store: ox.Store) -> list[tuple[str, str]]:
    rows = select(
        store,
        "SELECT ?node ?passage WHERE { ?node prov:wasDerivedFrom ?passage . "
        "?passage a zi:Passage }",
    )
    return sorted((row["node"].value, row["passage"].value) for row in rows)


def test_every_cited_passage_states_a_value_of_its_fact(store: ox.Store) -> None:
    unstated = []
    for node, passage in citations(store):
        key = (node[len(ID_BASE) :], passage[len(PASSAGES) :])
        if key in PARAPHRASED:
            continue
        if not stated_by_passage(store, node, passage):
            unstated.append(key)
    assert unstated == []


def test_the_paraphrase_allow_list_names_only_real_citations_that_need_it(store: ox.Store) -> None:
    real = {(n[len(ID_BASE) :], p[len(PASSAGES) :]) for n, p in citations(store)}
    assert set(PARAPHRASED) <= real
    for node, number in PARAPHRASED:
        assert not stated_by_passage(store, ID_BASE + node, PASSAGES + number), (node, number)


def test_the_conferral_designation_and_year_are_cited_where_stated(store: ox.Store) -> None:
    """Regression: "predikat" cited the ceremony's name (¶02), "tahun 2020" its date (¶03)."""
    designation = "https://w3id.org/zigraph/ontology#designation"
    year = "https://w3id.org/zigraph/ontology#assessmentYear"
    stating = {
        n: {key.split(" ")[0] for key in stated_by_passage(store, CONFERRAL, PASSAGES + n)}
        for n in ("01", "02", "03", "09")
    }
    assert {n for n, props in stating.items() if designation in props} == {"01", "09"}
    assert {n for n, props in stating.items() if year in props} == {"01"}


def sentence_places(text: str) -> list[tuple[int, int, int, int]]:
    """Return (paragraph, sentence, start, end) of each sentence: a paragraph is a line."""
    places = []
    offset = 0
    for paragraph, line in enumerate(text.split("\n"), 1):
        start = 0
        cuts = [m for m in re.finditer(r"(?<=[.!?])[”\"]?\s+(?=[“\"A-Z0-9])", line)]
        for number, cut in enumerate([*cuts, None], 1):
            end = cut.start() if cut else len(line)
            places.append((paragraph, number, offset + start, offset + end))
            start = cut.end() if cut else start
        offset += len(line) + 1
    return places


def test_every_passage_names_the_paragraph_and_sentences_it_quotes(store: ox.Store) -> None:
    rows = select(
        store,
        """SELECT ?passage ?file ?start ?end ?paragraph ?first ?last WHERE {
            ?passage a zi:Passage ; oa:hasSource/dct:hasFormat ?file ;
                oa:hasSelector/oa:start ?start ; oa:hasSelector/oa:end ?end ;
                zi:paragraphNumber ?paragraph ; zi:firstSentence ?first ; zi:lastSentence ?last .
        }""",
    )
    assert len(rows) == len(select(store, "SELECT ?p WHERE { ?p a zi:Passage }"))
    for row in rows:
        name = row["file"].value.rpartition("/")[2]
        text = Path(resources.folder("graph_data") / dataset.SOURCE_TEXTS / name).read_text(
            encoding="utf-8"
        )
        start, end = int(row["start"].value), int(row["end"].value)
        quoted = [
            (paragraph, sentence)
            for paragraph, sentence, s, e in sentence_places(text)
            if s < end and start < e
        ]
        paragraph, first, last = (int(row[k].value) for k in ("paragraph", "first", "last"))
        assert quoted == [(paragraph, n) for n in range(first, last + 1)], row["passage"]


PASSAGE_09 = "passage/garudacitizen-2020-12-21-wbk-pekalongan/09"


def test_a_passage_citation_downloads_as_bibtex_ris_and_csl_json(client) -> None:
    bib = client.get(f"/cite/{PASSAGE_09}.bib?lang=id")
    assert bib.status_code == 200 and bib.mimetype == "application/x-bibtex"
    assert "Paragraf 4, kalimat 1" in bib.get_data(as_text=True)
    ris = client.get(f"/cite/{PASSAGE_09}.ris?lang=en")
    assert ris.mimetype == "application/x-research-info-systems"
    lines = ris.get_data(as_text=True).split("\r\n")
    assert lines[0] == "TY  - NEWS" and "PY  - 2020" in lines and lines[-2] == "ER  -"
    csl = client.get(f"/cite/{PASSAGE_09}.json?lang=en")
    assert csl.mimetype == "application/vnd.citationstyles.csl+json"
    [item] = json.loads(csl.get_data(as_text=True))
    assert item["type"] == "article-newspaper" and item["container-title"] == "Garudacitizen"
    assert item["locator"] == "paragraph 4, sentence 1"
    # The publication month is the curators' inference, not a date the text states.
    assert item["issued"] == {"date-parts": [[2020, 12]], "circa": True}
    assert client.get("/cite/organisation/garudacitizen.bib").status_code == 404


def test_the_sentence_names_publisher_dates_paragraph_and_quote(client) -> None:
    from tests.pagehtml import parse

    page = parse(client.get(f"/doc/{PASSAGE_09}?lang=id", headers={"Accept": "text/html"}).data)
    sentence = page.by_id("cite-sentence").text()
    assert sentence.startswith("Garudacitizen, [Berita Garudacitizen:")
    assert "memberitakan peristiwa Senin, 21 Desember 2020" in sentence
    assert "tanggal terbit tidak tercantum, diperkirakan Desember 2020" in sentence
    assert "paragraf 4, kalimat 1: “Selanjutnya,dari 3 OPD" in sentence


def test_a_passage_without_its_place_is_still_cited(app) -> None:
    # Data that does not give paragraphs and sentences (the bench's generated articles, a
    # user's own) made every citation fail with an IndexError, and its fact pages answer 500.
    from service.citations import Citation, CitedPassage, Place, Work

    work = Work(
        iri="https://example.org/article",
        publisher="Warta Contoh",
        title="Judul",
        headline=True,
        reported=None,
        published="2021-01-02",
        published_stated=True,
        language="id",
    )
    passage = CitedPassage("https://example.org/p/1", Place(None, None, None), "Kata demi kata.", 0)
    citation = Citation(work, "https://w3id.org/zigraph/id/x", [passage])
    with app.test_request_context("/"):
        for lang in ("id", "en"):
            assert citation.sentence(lang).endswith(": “Kata demi kata.”.")
            assert "Kata demi kata." in citation.note(lang)


def test_a_stretch_of_a_quote_states_one_name_the_longest():
    quote = "Penganugerahan Wilayah Bebas dari Korupsi pada 21/12/2020; predikat WBK, bukan WBKX"
    names = {
        "ceremony": ["Penganugerahan Wilayah Bebas dari Korupsi"],
        "designation": ["Wilayah Bebas dari Korupsi", "WBK"],
        "date": ["21/12/2020"],
        "year": ["2020"],
        "other": ["WBKX Lain"],
    }
    # The designation's long name is inside the ceremony's, the year inside the date; "WBK"
    # is stated on its own, once (and "WBKX" is not a whole-word "WBK").
    assert stated_values(quote, names) == {"ceremony", "designation", "date"}
    assert stated_values("WBKX dan WBKX", {"designation": ["WBK"]}) == set()
