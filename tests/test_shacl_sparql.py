"""The SPARQL engine gives pySHACL's results on every shape fixture, and steps aside otherwise.

pySHACL is the reference: each fixture is validated by both, and the focus nodes and rules
they report must be the same. Oxigraph stores derived integer types (xsd:nonNegativeInteger)
as xsd:integer, so shapes that demand one are left to pySHACL; the comparison reads the
shapes and fixtures with those datatypes spelled xsd:integer, as the ontology work retypes them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from service import dataset, validation

FIXTURES = Path(__file__).resolve().parent / "data" / "shapes"
CASES = sorted(FIXTURES.glob("*/*.ttl"))
DERIVED_INTEGER = re.compile(r"xsd:(nonNegativeInteger|positiveInteger)\b")


def turtle(path: Path) -> str:
    """Return a Turtle file's text with derived integer datatypes spelled xsd:integer."""
    return DERIVED_INTEGER.sub("xsd:integer", path.read_text(encoding="utf-8"))


def shipped_text(role: str) -> str:
    return "\n".join(turtle(f.path) for f in dataset.shipped_files() if f.role == role)


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return Graph().parse(data=shipped_text("shapes"), format="turtle")


@pytest.fixture(scope="module")
def ontology() -> str:
    return shipped_text("ontology")


def both_engines(data: Graph, shapes: Graph) -> tuple[validation.Report, validation.Report]:
    """Return the reports of pySHACL and of the SPARQL engine on the same data."""
    reference = validation.validate_graphs(data, shapes)
    store = ox.Store()
    store.bulk_extend(ox.parse(data.serialize(format="nt").encode(), ox.RdfFormat.N_TRIPLES))
    return reference, validation.validate_store(store, shapes, lambda: iter(store))


def findings(report: validation.Report) -> set[tuple[str, str, str | None]]:
    return {(r.focus, r.source_shape, r.path) for r in report.results}


@pytest.mark.parametrize("fixture", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_sparql_engine_agrees_with_pyshacl(fixture: Path, shapes: Graph, ontology: str) -> None:
    data = Graph().parse(data=ontology, format="turtle")
    data.parse(data=turtle(fixture), format="turtle")
    reference, fast = both_engines(data, shapes)
    assert fast.engine == "SPARQL"
    assert fast.conforms == reference.conforms
    assert findings(fast) == findings(reference)


def test_sparql_engine_agrees_on_the_shipped_data(shapes: Graph, ontology: str) -> None:
    data = Graph().parse(data=ontology, format="turtle")
    for source in dataset.shipped_files():
        if source.role == "graph_data":
            data.parse(data=turtle(source.path), format="turtle")
    reference, fast = both_engines(data, shapes)
    assert fast.conforms and reference.conforms
    assert fast.checked_triples == reference.checked_triples


def test_shapes_the_engine_cannot_evaluate_go_to_pyshacl(shapes: Graph) -> None:
    closed = Graph().parse(
        data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> .
        @prefix ex: <http://example.org/> .
        ex:shape a sh:NodeShape ; sh:targetClass ex:Thing ; sh:closed true ;
            sh:property [ sh:path ex:name ] .
        """,
        format="turtle",
    )
    data = Graph().parse(
        data="""
        @prefix ex: <http://example.org/> .
        ex:a a ex:Thing ; ex:name "a" ; ex:other "not allowed" .
        """,
        format="turtle",
    )
    reference, fast = both_engines(data, closed)
    assert fast.engine == "pySHACL"
    assert not fast.conforms
    assert findings(fast) == findings(reference)
