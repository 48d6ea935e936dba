"""The competency queries in queries/ answer their questions on the shipped data."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib.namespace import XSD

from service import dataset, resources
from service.namespaces import ID_BASE, SCHEMA

QUERIES = sorted(Path(resources.folder("queries")).glob("*.rq"))
HEADER = ("# id: ", "# en: ", "# expected: ")


def entity(path: str) -> ox.NamedNode:
    """Return the IRI of a zigraph entity from its path under the id base."""
    return ox.NamedNode(ID_BASE + path)


def typed(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(str(datatype)))


def indonesian(value: str) -> ox.Literal:
    return ox.Literal(value, language="id")


DPMPTSP = entity("organisation/dpmptsp-kota-pekalongan")
DINARPUS = entity("organisation/dinarpus-kota-pekalongan")
KECAMATAN_PEKALONGAN_BARAT = entity("organisation/kecamatan-pekalongan-barat")
KEMENPAN_RB = entity("organisation/kemenpan-rb")
BENO = entity("person/beno-heritriono")
TJAHJO = entity("person/tjahjo-kumolo")
CEREMONY = entity("ceremony/apresiasi-penganugerahan-zi-wbk-wbbm-2020")
WBK = entity("designation/wbk")
PASSAGES = "passage/garudacitizen-2020-12-21-wbk-pekalongan/"


@pytest.fixture(scope="module")
def store(shipped_dataset: dataset.LoadedDataset) -> ox.Store:
    store = ox.Store()
    store.bulk_extend(shipped_dataset.quads)
    return store


def run(store: ox.Store, name: str) -> list[dict[str, ox.NamedNode | ox.Literal | None]]:
    """Run the query file whose name starts with ``name``; return its rows by variable."""
    (path,) = [p for p in QUERIES if p.stem.startswith(name)]
    results = store.query(path.read_text(encoding="utf-8"), use_default_graph_as_union=True)
    variables = [v.value for v in results.variables]
    return [{v: row[v] for v in variables} for row in results]


@pytest.mark.parametrize("query", QUERIES, ids=lambda p: p.stem)
def test_query_starts_with_its_question_and_expected_answer(query: Path) -> None:
    lines = query.read_text(encoding="utf-8").splitlines()
    for line, prefix in zip(lines, HEADER, strict=False):
        assert line.startswith(prefix) and line[len(prefix) :].strip(), (query.name, prefix)
    assert len(lines) > len(HEADER)


def test_queries_are_numbered_from_01() -> None:
    numbers = [int(p.stem.split("-", 1)[0]) for p in QUERIES]
    assert numbers == list(range(1, len(QUERIES) + 1))
    assert len(QUERIES) >= 7


def test_01_conferrals_2020(store: ox.Store) -> None:
    rows = run(store, "01-")
    assert {row["recipient"] for row in rows} == {DPMPTSP, DINARPUS}
    assert len(rows) == 2
    for row in rows:
        assert row["designation"] == WBK
        assert row["conferredBy"] == KEMENPAN_RB
        assert row["handedOverBy"] == TJAHJO
        assert row["date"] == typed("2020-12-21", XSD.date)
        assert row["ceremony"] == CEREMONY


def test_02_pipeline_stages_counts_and_named_members(store: ox.Store) -> None:
    stages: dict[int, tuple[int, set]] = {}
    for row in run(store, "02-"):
        count, members = stages.setdefault(
            int(row["order"].value), (int(row["count"].value), set())
        )
        if row["member"] is not None:
            members.add(row["member"])
    assert stages == {
        1: (11, set()),
        2: (3, {DPMPTSP, DINARPUS, KECAMATAN_PEKALONGAN_BARAT}),
        3: (2, {DPMPTSP, DINARPUS}),
    }


def test_03_assessed_but_not_designated(store: ox.Store) -> None:
    rows = run(store, "03-")
    assert [row["agency"] for row in rows] == [KECAMATAN_PEKALONGAN_BARAT]
    assert rows[0]["agencyLabel"] == indonesian("Kecamatan Pekalongan Barat")


def test_04_inspektur_and_his_statements(store: ox.Store) -> None:
    rows = run(store, "04-")
    assert {row["person"] for row in rows} == {BENO}
    assert {row["honorificSuffix"] for row in rows} == {ox.Literal("SH, MSi")}
    assert {row["heldOn"] for row in rows} == {typed("2020-12-21", XSD.date)}
    assert len({row["statement"] for row in rows}) == len(rows) == 7
    quotations = [row for row in rows if row["isQuotation"] == typed("true", XSD.boolean)]
    assert len(quotations) == 2
    assert all(row["words"].value.startswith("\u201c") for row in quotations)


def test_05_wbk_is_the_prerequisite_of_wbbm(store: ox.Store) -> None:
    rows = run(store, "05-")
    assert [row["prerequisite"] for row in rows] == [WBK]
    assert rows[0]["notation"] == ox.Literal("WBK")
    assert "harus mendapatkan WBK terlebih dahulu" in rows[0]["words"].value


def test_06_assessment_areas_as_the_article_words_them(store: ox.Store) -> None:
    rows = run(store, "06-")
    assert {row["areaLabel"] for row in rows} == {
        indonesian("penguatan organisasi"),
        indonesian("penguatan tata laksana"),
        indonesian("penguatan sumber daya manusia"),
        indonesian("pengendalian dan pengawasan pelayanan publik"),
    }
    assert {row["isExhaustive"] for row in rows} == {typed("false", XSD.boolean)}


def test_07_passages_of_the_dpmptsp_conferral(store: ox.Store) -> None:
    rows = run(store, "07-")
    assert [row["passage"] for row in rows] == [
        entity(PASSAGES + number) for number in ("01", "02", "03", "09")
    ]
    offsets = [(int(row["start"].value), int(row["end"].value)) for row in rows]
    assert offsets == [(39, 465), (466, 779), (780, 1145), (1778, 1987)]
    assert rows[0]["exact"].value.startswith("Dua Organisasi Perangkat Daerah di Kota Pekalongan")
    assert "koruosi" in rows[0]["exact"].value  # quoted verbatim, typo included


def test_08_targets_for_2021(store: ox.Store) -> None:
    rows = run(store, "08-")
    assert {row["target"] for row in rows} == {
        entity("target/kota-pekalongan-2021-semua-opd-tingkatkan-pelayanan-publik"),
        entity("target/kota-pekalongan-2021-tambah-opd-wbk"),
        entity("target/kota-pekalongan-2021-pimpinan-opd-berkomitmen"),
    }


def test_09_virtual_ceremony_attended_from_ruang_kresna(store: ox.Store) -> None:
    rows = run(store, "09-")
    assert len(rows) == 1
    (row,) = rows
    assert row["ceremony"] == CEREMONY
    assert row["date"] == typed("2020-12-21", XSD.date)
    assert row["attendanceMode"] == ox.NamedNode(str(SCHEMA.OnlineEventAttendanceMode))
    assert row["commemorationLabel"] == indonesian("Peringatan Hari Anti-Korupsi Sedunia 2020")
    assert row["attendeeLabel"] == indonesian("Beno Heritriono")
    assert row["placeLabel"] == indonesian("Ruang Kresna Setda Kota Pekalongan")


def test_10_nineteen_agencies_encouraged_to_declare(store: ox.Store) -> None:
    rows = run(store, "10-")
    assert [row["count"] for row in rows] == [typed("19", XSD.integer)]
