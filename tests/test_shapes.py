"""The shapes accept the shipped data and the valid fixtures; each invalid fixture breaks one rule.

An invalid fixture is named after the local name of the shape it must break
(``invalid/conferral-date-datatype.ttl`` breaks ``zsh:conferral-date-datatype``).
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


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return shipped_graph("shapes")


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return shipped_graph("ontology")


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
    expected = ZSH[fixture.stem]
    assert expected in named_shapes(shapes), f"no shape zsh:{fixture.stem}"
    conforms, report = validate(ontology + Graph().parse(fixture), shapes)
    assert not conforms
    fired = source_shapes(report)
    assert fired
    assert set(fired) == {expected}


def test_every_rule_has_an_invalid_fixture(shapes: Graph) -> None:
    assert rules(shapes) - {ZSH[p.stem] for p in INVALID} == set()


def test_every_shape_is_named_and_explained_in_both_languages(shapes: Graph) -> None:
    for shape in named_shapes(shapes):
        for predicate in (SH.name, SH.message):
            languages = {value.language for value in shapes.objects(shape, predicate)}
            assert {"id", "en"} <= languages, (shape, predicate)
