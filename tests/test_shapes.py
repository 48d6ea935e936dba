"""The shapes accept the shipped data and the valid fixtures; each invalid fixture breaks one rule.

An invalid fixture is named after the local name of the shape it must break
(``invalid/conferral-date-datatype.ttl`` breaks ``zsh:conferral-date-datatype``).
"""

from __future__ import annotations

from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH

from service import dataset

FIXTURES = Path(__file__).resolve().parent / "data" / "shapes"
VALID = sorted(FIXTURES.glob("valid/*.ttl"))
INVALID = sorted(FIXTURES.glob("invalid/*.ttl"))


def shipped_graph(*roles: str) -> Graph:
    """Return the shipped files of ``roles`` parsed into one rdflib graph."""
    graph = Graph()
    for source in dataset.shipped_files():
        if source.role in roles:
            graph.parse(source.path)
    return graph


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return shipped_graph("shapes")


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return shipped_graph("ontology")


def validate(data: Graph, shapes: Graph) -> tuple[bool, Graph]:
    """Validate ``data`` the way the service does and return (conforms, report graph)."""
    conforms, report, _ = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="none",
        advanced=True,
        allow_warnings=False,
    )
    return conforms, report


def source_shapes(report: Graph) -> list[URIRef]:
    """Return the sh:sourceShape of every result of a validation report."""
    return [report.value(result, SH.sourceShape) for result in report.objects(None, SH.result)]


def shape_by_local_name(shapes: Graph) -> dict[str, URIRef]:
    """Map the local name (after '#') of every named shape to its IRI."""
    named = set(shapes.subjects(RDF.type, SH.NodeShape)) | set(
        shapes.subjects(RDF.type, SH.PropertyShape)
    )
    return {str(s).rpartition("#")[2]: s for s in named if isinstance(s, URIRef)}


def rules(shapes: Graph) -> set[str]:
    """Return the local names of the shapes that can be a violation's source shape."""
    property_shapes = set(shapes.subjects(RDF.type, SH.PropertyShape))
    sparql_shapes = set(shapes.subjects(SH.sparql, None))
    return {
        str(s).rpartition("#")[2] for s in property_shapes | sparql_shapes if isinstance(s, URIRef)
    }


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
    expected = shape_by_local_name(shapes).get(fixture.stem)
    assert expected is not None, f"no shape named {fixture.stem}"
    conforms, report = validate(ontology + Graph().parse(fixture), shapes)
    assert not conforms
    fired = source_shapes(report)
    assert fired
    assert set(fired) == {expected}


def test_every_rule_has_an_invalid_fixture(shapes: Graph) -> None:
    assert rules(shapes) - {p.stem for p in INVALID} == set()


def test_every_shape_is_named_and_explained_in_both_languages(shapes: Graph) -> None:
    for shape in shape_by_local_name(shapes).values():
        for predicate in (SH.name, SH.message):
            languages = {value.language for value in shapes.objects(shape, predicate)}
            assert {"id", "en"} <= languages, (shape, predicate)
