"""The shapes accept the shipped data and the valid fixtures; each invalid fixture breaks one rule.

An invalid fixture is named after the local name of the shape it must break
(``invalid/conferral-date-datatype.ttl`` breaks ``zsh:conferral-date-datatype``); a second
fixture of the same rule adds what it varies after ``--``
(``invalid/pipeline-stage-counts-decrease--claimed-counts.ttl``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH

from service import validation
from service.namespaces import ZSH
from tests.conftest import shipped_graph

FIXTURES = Path(__file__).resolve().parent / "data" / "shapes"
VALID = sorted(FIXTURES.glob("valid/*.ttl"))
INVALID = sorted(FIXTURES.glob("invalid/*.ttl"))
MADE_UP_DESIGNATION = Path(__file__).resolve().parent / "data" / "made-up-designation"
DPMPTSP = "https://w3id.org/zigraph/id/organisation/dpmptsp-kota-pekalongan"


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return shipped_graph("shapes")


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return shipped_graph("ontology")


def rule_of(fixture: Path) -> URIRef:
    """Return the shape an invalid fixture is named after."""
    return ZSH[fixture.stem.split("--")[0]]


def validate(data: Graph, shapes: Graph) -> tuple[bool, Graph]:
    """Validate ``data`` the way the service does and return (conforms, report graph)."""
    report = validation.validate_graphs(data, shapes)
    return report.conforms, report.graph


def source_shapes(report: Graph) -> list[URIRef]:
    """Return the sh:sourceShape of every result of a validation report."""
    return [report.value(result, SH.sourceShape) for result in report.objects(None, SH.result)]


def named_shapes(shapes: Graph) -> set[URIRef]:
    """Return the shapes that have an IRI."""
    shape_types = (SH.NodeShape, SH.PropertyShape)
    return {s for t in shape_types for s in shapes.subjects(RDF.type, t) if isinstance(s, URIRef)}


def rules(shapes: Graph) -> set[URIRef]:
    """Return the shapes that can be a violation's source shape: property and SPARQL shapes."""
    property_shapes = set(shapes.subjects(RDF.type, SH.PropertyShape))
    sparql_shapes = set(shapes.subjects(SH.sparql, None))
    return {s for s in property_shapes | sparql_shapes if isinstance(s, URIRef)}


def test_shipped_data_conforms(shapes: Graph) -> None:
    conforms, report = validate(shipped_graph("ontology", "graph_data"), shapes)
    assert conforms, report.serialize(format="turtle")


@pytest.mark.parametrize("fixture", VALID, ids=lambda p: p.stem)
def test_valid_fixture_conforms(fixture: Path, shapes: Graph, ontology: Graph) -> None:
    conforms, report = validate(ontology + Graph().parse(fixture), shapes)
    assert conforms, report.serialize(format="turtle")


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_breaks_only_its_rule(
    fixture: Path, shapes: Graph, ontology: Graph
) -> None:
    expected = rule_of(fixture)
    assert expected in named_shapes(shapes), f"no shape {expected}"
    report = validation.validate_graphs(ontology + Graph().parse(fixture), shapes)
    assert not report.conforms
    fired = source_shapes(report.graph)
    assert fired
    assert set(fired) == {expected}
    # The service lists the same results, not the nested ones that explain them (sh:detail).
    assert {result.source_shape for result in report.results} == {f"zsh:{expected[len(ZSH) :]}"}


def test_every_rule_has_an_invalid_fixture(shapes: Graph) -> None:
    assert rules(shapes) - {rule_of(p) for p in INVALID} == set()


def test_every_shape_is_named_and_explained_in_both_languages(shapes: Graph) -> None:
    for shape in named_shapes(shapes):
        for predicate in (SH.name, SH.message):
            languages = {value.language for value in shapes.objects(shape, predicate)}
            assert {"id", "en"} <= languages, (shape, predicate)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_sparql_rule_messages_follow_the_language(
    lang: str, shapes: Graph, ontology: Graph
) -> None:
    fixture = FIXTURES / "invalid" / "conferral-prerequisite-held.ttl"
    report = validation.validate_graphs(ontology + Graph().parse(fixture), shapes)
    unit = "https://example.org/zigraph-test/unit"
    expected = {
        "id": f"{unit} menerima WBBM 2020 tanpa WBK pada tahun sebelumnya.",
        "en": f"{unit} receives WBBM 2020 without WBK in an earlier year.",
    }
    assert [result.message(lang) for result in report.results] == [expected[lang]]


def test_shapes_name_no_designation(shapes: Graph) -> None:
    designations = "https://w3id.org/zigraph/id/designation/"
    named = {str(node) for triple in shapes for node in triple if isinstance(node, URIRef)}
    queries = " ".join(str(query) for query in shapes.objects(None, SH.select))
    assert not [iri for iri in named if iri.startswith(designations)]
    assert designations not in queries and "designation:" not in queries


@pytest.mark.parametrize(
    ("prerequisite", "conforms"), [("wbbm", False), ("wbk", True)], ids=["needs-wbbm", "needs-wbk"]
)
def test_a_made_up_designation_is_checked_against_its_prerequisite(
    prerequisite: str, conforms: bool, shapes: Graph
) -> None:
    """A new designation needs no new shape: its prerequisite is read from the data."""
    fixture = MADE_UP_DESIGNATION / f"needs-{prerequisite}.ttl"
    report = validation.validate_graphs(
        shipped_graph("ontology", "graph_data") + Graph().parse(fixture), shapes
    )
    assert report.conforms is conforms, report.text("en")
    if not conforms:
        assert [result.source_shape for result in report.results] == [
            "zsh:conferral-prerequisite-held"
        ]
        assert report.results[0].message("en") == (
            f"{DPMPTSP} receives WCP 2021 without WBBM in an earlier year."
        )
