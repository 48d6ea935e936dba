"""Every shipped fact points to the passage that states it, and every passage is exact."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from service import dataset, resources
from service.namespaces import ID_BASE, PREFIXES, ZI

SPARQL_PREFIXES = "\n".join(f"PREFIX {prefix}: <{iri}>" for prefix, iri in PREFIXES.items())
CONTEXT = 32  # the most characters a prefix or suffix holds
FACTS_TABLE = Path(__file__).resolve().parent.parent / "docs" / "facts.md"


@pytest.fixture(scope="module")
def store(shipped_dataset: dataset.LoadedDataset) -> ox.Store:
    store = ox.Store()
    store.bulk_extend(shipped_dataset.quads)
    return store


def select(store: ox.Store, query: str) -> list[dict[str, object]]:
    """Run a SELECT over the union of all graphs; return rows of Python values by variable."""
    results = store.query(SPARQL_PREFIXES + query, use_default_graph_as_union=True)
    names = [v.value for v in results.variables]
    return [{name: row[name] for name in names} for row in results]


def source_text(file_iri: str) -> str:
    """Return the shipped text named by a source's dct:hasFormat IRI."""
    name = file_iri.rpartition("/")[2]
    path = resources.folder("graph_data") / dataset.SOURCE_TEXTS / name
    return Path(path).read_text(encoding="utf-8")


def selectors(store: ox.Store) -> list[dict[str, object]]:
    return select(
        store,
        """
        SELECT ?passage ?file ?exact ?prefix ?suffix ?start ?end WHERE {
            ?passage a zi:Passage ;
                oa:hasSource/dct:hasFormat ?file ;
                oa:hasSelector ?quote, ?position .
            ?quote a oa:TextQuoteSelector ; oa:exact ?exact .
            OPTIONAL { ?quote oa:prefix ?prefix }
            OPTIONAL { ?quote oa:suffix ?suffix }
            ?position a oa:TextPositionSelector ; oa:start ?start ; oa:end ?end .
        }
        """,
    )


def test_every_passage_has_one_quote_and_one_position_selector(store: ox.Store) -> None:
    rows = select(
        store,
        """
        SELECT ?passage (COUNT(DISTINCT ?quote) AS ?quotes)
            (COUNT(DISTINCT ?position) AS ?positions) WHERE {
            ?passage a zi:Passage .
            OPTIONAL { ?passage oa:hasSelector ?quote . ?quote a oa:TextQuoteSelector }
            OPTIONAL { ?passage oa:hasSelector ?position . ?position a oa:TextPositionSelector }
        } GROUP BY ?passage
        """,
    )
    assert rows
    for row in rows:
        assert (int(row["quotes"].value), int(row["positions"].value)) == (1, 1), row["passage"]


def test_every_quote_occurs_at_its_offsets(store: ox.Store) -> None:
    rows = selectors(store)
    assert len(rows) == len(select(store, "SELECT ?p WHERE { ?p a zi:Passage }"))
    for row in rows:
        text = source_text(row["file"].value)
        start, end = int(row["start"].value), int(row["end"].value)
        assert 0 <= start < end <= len(text), row["passage"]
        assert text[start:end] == row["exact"].value, row["passage"]


def test_prefix_and_suffix_are_adjacent_to_the_quote(store: ox.Store) -> None:
    for row in selectors(store):
        text = source_text(row["file"].value)
        start, end = int(row["start"].value), int(row["end"].value)
        prefix = row["prefix"].value if row["prefix"] else ""
        suffix = row["suffix"].value if row["suffix"] else ""
        assert len(prefix) <= CONTEXT and len(suffix) <= CONTEXT, row["passage"]
        assert text[start - len(prefix) : start] == prefix, row["passage"]
        assert text[end : end + len(suffix)] == suffix, row["passage"]
        # Only the very start or end of the text leaves no context to quote.
        assert prefix or start == 0, row["passage"]
        assert suffix or end == len(text), row["passage"]


def test_source_text_file_is_shipped(store: ox.Store) -> None:
    files = select(store, "SELECT DISTINCT ?file WHERE { ?article dct:hasFormat ?file }")
    assert files
    for row in files:
        assert source_text(row["file"].value)


def test_fact_bearing_classes_include_the_facts_of_the_article(store: ox.Store) -> None:
    rows = select(store, "SELECT ?class WHERE { ?class rdfs:subClassOf+ zi:AttestedFact }")
    classes = {row["class"].value for row in rows}
    for name in (
        "DesignationConferral",
        "SelectionPipeline",
        "SelectionStage",
        "PostHolding",
        "Statement",
        "Quotation",
        "Ceremony",
        "Commemoration",
        "CeremonyAttendance",
        "Target",
        "DesignationRule",
        "IntegrityZoneDeclaration",
        "AssessmentAreaList",
    ):
        assert str(ZI[name]) in classes, name


def test_every_fact_bearing_node_has_provenance(store: ox.Store) -> None:
    facts = select(
        store,
        "SELECT DISTINCT ?node WHERE { ?node a/rdfs:subClassOf* zi:AttestedFact }",
    )
    assert len(facts) > 20
    unsourced = select(
        store,
        """
        SELECT DISTINCT ?node WHERE {
            ?node a/rdfs:subClassOf* zi:AttestedFact .
            FILTER NOT EXISTS { ?node prov:wasDerivedFrom/a zi:Passage }
        }
        """,
    )
    assert unsourced == []


def test_every_passage_supports_a_fact(store: ox.Store) -> None:
    unused = select(
        store,
        """
        SELECT ?passage WHERE {
            ?passage a zi:Passage .
            FILTER NOT EXISTS { ?node prov:wasDerivedFrom ?passage }
        }
        """,
    )
    assert unused == []


def test_graph_data_has_no_blank_nodes(shipped_dataset: dataset.LoadedDataset) -> None:
    blank = [
        quad
        for quad in shipped_dataset.graph_quads("graph_data")
        if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)
    ]
    assert blank == []


def test_every_node_named_in_the_facts_table_exists(
    shipped_dataset: dataset.LoadedDataset,
) -> None:
    subjects = {quad.subject.value for quad in shipped_dataset.quads}
    paths = set(re.findall(r"`([a-z-]+/[a-z0-9-]+)`", FACTS_TABLE.read_text(encoding="utf-8")))
    assert len(paths) > 20
    assert {path for path in paths if ID_BASE + path not in subjects} == set()
