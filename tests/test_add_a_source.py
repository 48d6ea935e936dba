"""The README's "Add a source" walk-through, end to end, on made-up sources (tests/data/).

new-source scaffolds the files, the curator writes facts and quotes, anchor adds prefixes,
suffixes and offsets, validate accepts the folder, and the entity page shows each quote.
Two of the made-up sources disagree on a count (11 or 12 proposed agencies): both values are
kept, each with its source, and the stage's page shows the disagreement.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from service import dataset, passages, resources
from service.namespaces import ID_BASE, OA, PROV, ZI
from service.store import building, get_store
from tests.conftest import application_over
from tests.pagehtml import parse as parse_html

MADE_UP = Path(__file__).resolve().parent / "data" / "add-a-source"
ZIGRAPH = Path(sys.executable).with_name("zigraph")
CONFERRAL = ID_BASE + "conferral/wbk-2023-dinas-perpustakaan-kota-contoh"
PROPOSED = ID_BASE + "stage/kota-contoh-2023-1-diusulkan"
DESIGNATED = ID_BASE + "stage/kota-contoh-2023-2-ditetapkan-wbk"
SOURCES = (
    "kabar-contoh-2023-12-wbk",
    "kabar-lain-2023-12-wbk",
    "warta-contoh-2023-12-usulan",
    "suara-contoh-2023-12-usulan",
)


def zigraph(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(ZIGRAPH), *args], capture_output=True, text=True, timeout=300, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def add_source(folder: Path, name: str, title: str, publisher: str) -> Path:
    """Scaffold a source, append its made-up facts and passages, and anchor them."""
    zigraph(
        "new-source", name, "--folder", str(folder), "--title", title,
        "--publisher", publisher, "--date", "2023-12", "--text", str(MADE_UP / f"{name}.txt"),
    )  # fmt: skip
    article = folder / "articles" / f"{name}.ttl"
    facts = (MADE_UP / f"{name.split('-2023')[0]}-facts.ttl.in").read_text(encoding="utf-8")
    article.write_text(article.read_text(encoding="utf-8") + facts, encoding="utf-8")
    zigraph("anchor", str(article))
    return article


def curate(folder: Path) -> Path:
    """Write a data folder: the shipped data plus made-up sources of the same facts, two of
    them agreeing on a conferral and two disagreeing on a count."""
    shutil.copytree(resources.folder("graph_data"), folder)
    add_source(folder, "kabar-contoh-2023-12-wbk", "Berita rekaan: WBK 2023", "Kabar Contoh")
    add_source(folder, "kabar-lain-2023-12-wbk", "Berita rekaan lain: WBK 2023", "Kabar Lain")
    add_source(folder, "warta-contoh-2023-12-usulan", "Berita rekaan: usulan 2023", "Warta Contoh")
    add_source(folder, "suara-contoh-2023-12-usulan", "Berita rekaan: 12 OPD", "Suara Contoh")
    return folder


@pytest.fixture(scope="module")
def curated(tmp_path_factory) -> Path:
    return curate(tmp_path_factory.mktemp("curated") / "data")


@pytest.fixture(scope="module")
def curated_app(curated: Path, tmp_path_factory):
    """Return the service over the curated folder (its own store, closed afterwards)."""
    store_dir = tmp_path_factory.mktemp("curated-store") / "store"
    building.build_store(dataset.selected_files([curated]), store_dir)
    yield from application_over(store_dir)


def anchored_passages(article: Path) -> list[passages.Passage]:
    return passages.passages(article.read_text(encoding="utf-8"), article.resolve().as_uri())


def test_anchor_writes_offsets_where_each_quote_is(curated: Path) -> None:
    for name in SOURCES:
        text = (curated / "sources" / f"{name}.txt").read_text(encoding="utf-8")
        found = anchored_passages(curated / "articles" / f"{name}.ttl")
        assert found
        for passage in found:
            assert text[passage.start : passage.end] == passage.exact
            assert text[: passage.start].endswith(passage.prefix)
            assert text[passage.end :].startswith(passage.suffix)


def test_anchor_keeps_the_file_as_written_and_runs_twice_alike(curated: Path) -> None:
    article = curated / "articles" / "kabar-contoh-2023-12-wbk.ttl"
    anchored = article.read_text(encoding="utf-8")
    assert anchored.startswith("# Facts of one source document")
    assert anchored.index("@prefix zi:") < anchored.index("@prefix article:")
    assert anchored.index("psg:01 a zi:Passage") < anchored.index("psg:02 a zi:Passage")
    assert "psg:01\\/quote, psg:01\\/position" in anchored
    result = zigraph("anchor", str(article))
    assert "0 passages anchored" in result.stderr
    assert article.read_text(encoding="utf-8") == anchored


def test_the_curated_folder_validates(curated: Path) -> None:
    result = zigraph("validate", "--data", str(curated), "--lang", "en")
    assert "conforms" in result.stdout


def test_a_fact_stated_by_two_sources_shows_both_quotes_and_texts(curated_app) -> None:
    page = curated_app.test_client().get("/doc/conferral/wbk-2023-dinas-perpustakaan-kota-contoh")
    text = curated_app.test_client().get("/source/kabar-lain-2023-12-wbk.txt")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "meraih predikat Wilayah Bebas dari Korupsi (WBK) Tahun 2023" in html
    assert "Predikat itu diraih Dinas Perpustakaan Kota Contoh untuk tahun 2023." in html
    assert text.status_code == 200  # the text beside the data, not only the shipped ones
    assert text.get_data(as_text=True) == (MADE_UP / "kabar-lain-2023-12-wbk.txt").read_text()


def write_article(folder: Path, exact: str, prefix: str | None = None) -> Path:
    """Write a one-passage article quoting ``exact`` from the first made-up text."""
    shutil.copy(MADE_UP / "kabar-contoh-2023-12-wbk.txt", folder / "text.txt")
    given_prefix = f" ;\n    oa:prefix {passages.turtle_string(prefix)}" if prefix else ""
    article = folder / "article.ttl"
    article.write_text(
        f"@prefix zi: <https://w3id.org/zigraph/ontology#> .\n@prefix oa: <{OA}> .\n"
        "@prefix psg: <https://example.org/passage/> .\n\n"
        "psg:p a zi:Passage ;\n    oa:hasSelector psg:p\\/quote .\n\n"
        f"psg:p\\/quote a oa:TextQuoteSelector ;\n    oa:exact {passages.turtle_string(exact)}"
        f"{given_prefix} .\n",
        encoding="utf-8",
    )
    return article


def test_a_quote_not_in_the_text_names_the_passage_and_the_nearest_match(tmp_path) -> None:
    article = write_article(tmp_path, "Penghargaan diserahkan pada 13 Desember 2023.")
    before = article.read_text()
    result = zigraph("anchor", str(article), "--source", str(tmp_path / "text.txt"), check=False)
    assert result.returncode == 1
    assert "https://example.org/passage/p" in result.stderr
    assert "not in the source text" in result.stderr
    assert "Penghargaan diserahkan pada 12 Desember 2023." in result.stderr
    assert article.read_text() == before


def test_an_ambiguous_quote_needs_a_prefix(tmp_path) -> None:
    article = write_article(tmp_path, "Dinas Perpustakaan Kota Contoh")
    result = zigraph("anchor", str(article), "--source", str(tmp_path / "text.txt"), check=False)
    assert result.returncode == 1
    assert "occurs 2 times" in result.stderr
    article = write_article(tmp_path, "Dinas Perpustakaan Kota Contoh", prefix="Kepala ")
    result = zigraph("anchor", str(article), "--source", str(tmp_path / "text.txt"), "-o", "-")
    store = ox.Store()
    store.load(result.stdout, format=ox.RdfFormat.TURTLE)
    starts = [q.object.value for q in store.quads_for_pattern(None, ox.NamedNode(OA.start), None)]
    text = (tmp_path / "text.txt").read_text(encoding="utf-8")
    assert starts == [str(text.index("Kepala ") + len("Kepala "))]


def claimed_counts(stage: str) -> set[tuple[int, str]]:
    """Return each count claimed for a stage with the source document of each of its passages."""
    rows = get_store().query(
        f"""SELECT ?count ?document WHERE {{
  <{stage}> <{ZI.claimedCount}> ?claim .
  ?claim <{ZI.memberCount}> ?count ; <{PROV.wasDerivedFrom}>/<{OA.hasSource}> ?document .
}}"""
    )
    return {(int(row["count"].value), row["document"].value) for row in rows.dicts()}


def test_two_sources_that_disagree_on_a_count_are_both_kept(curated_app) -> None:
    with curated_app.app_context():
        assert claimed_counts(PROPOSED) == {
            (11, ID_BASE + "article/warta-contoh-2023-12-usulan"),
            (12, ID_BASE + "article/suara-contoh-2023-12-usulan"),
        }
        store = get_store()
        direct = store.query(f"SELECT ?c WHERE {{ <{PROPOSED}> <{ZI.memberCount}> ?c }}")
        assert list(direct.rows) == []  # no value picked beside the claims
        agreed = store.query(f"SELECT ?c WHERE {{ <{DESIGNATED}> <{ZI.memberCount}> ?c }}")
        assert [int(row[0].value) for row in agreed.rows] == [2]


@pytest.mark.parametrize(
    ("lang", "marker", "summary"),
    [
        ("id", "Sumber berbeda pendapat", "11 / 12 anggota (sumber berbeda)"),
        ("en", "Sources disagree", "11 / 12 members (sources disagree)"),
    ],
)
def test_the_stage_page_shows_the_disagreement_with_each_source(
    curated_app, lang: str, marker: str, summary: str
) -> None:
    page = curated_app.test_client().get(f"/doc/stage/kota-contoh-2023-1-diusulkan?lang={lang}")
    assert page.status_code == 200
    html = parse_html(page.get_data(as_text=True))
    disputed = html.find_all("dd", class_="disputed")
    assert len(disputed) == 1
    headline = disputed[0].find("p", class_="disagreement")
    assert marker in headline.text()
    assert [v.text() for v in headline.find_all("span", class_="claimed-value")] == [
        "11 (Warta Contoh)",
        "12 (Suara Contoh)",
    ]
    values = disputed[0].find("ul", class_="values").find_all("li")
    assert len(values) == 2
    assert [[m.text() for m in li.find_all("mark")] for li in values] == [
        [
            "Pemerintah Kota Contoh mengusulkan 11 OPD kepada Kementerian Contoh untuk meraih "
            "predikat WBK."
        ],
        ["Sebanyak 12 OPD Kota Contoh diusulkan ke Kementerian Contoh tahun ini."],
    ]
    assert summary in html.find("div", class_="summary").text()
    funnel = html.find("figure", class_="funnel")
    assert "11 / 12" in funnel.find("desc").text()
    assert funnel.find("rect", class_="disputed") is not None


def test_a_count_both_sources_agree_on_shows_both_quotes(curated_app) -> None:
    page = curated_app.test_client().get("/doc/stage/kota-contoh-2023-2-ditetapkan-wbk")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Dari usulan itu, 2 OPD ditetapkan meraih predikat WBK." in html
    assert "Dua di antaranya kini berpredikat WBK." in html
    assert parse_html(html).find_all("dd", class_="disputed") == []


def test_the_stage_document_carries_every_claimed_count_with_its_passages(curated_app) -> None:
    response = curated_app.test_client().get("/doc/stage/kota-contoh-2023-1-diusulkan.nt")
    assert response.status_code == 200
    store = ox.Store()
    store.load(response.data, format=ox.RdfFormat.N_TRIPLES)
    rows = store.query(
        f"""SELECT ?count ?exact WHERE {{
  <{PROPOSED}> <{ZI.claimedCount}> ?claim .
  ?claim <{ZI.memberCount}> ?count ;
      <{PROV.wasDerivedFrom}>/<{OA.hasSelector}>/<{OA.exact}> ?exact .
}}"""
    )
    assert {(int(row["count"].value), row["exact"].value) for row in rows} == {
        (11, "Pemerintah Kota Contoh mengusulkan 11 OPD kepada Kementerian Contoh untuk "
         "meraih predikat WBK."),
        (12, "Sebanyak 12 OPD Kota Contoh diusulkan ke Kementerian Contoh tahun ini."),
    }  # fmt: skip
