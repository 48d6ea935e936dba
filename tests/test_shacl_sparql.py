"""The SPARQL engine gives pySHACL's results on every shape fixture, and steps aside otherwise.

pySHACL is the reference: each fixture is validated by both, and the focus nodes and rules
they report must be the same. Oxigraph stores derived integer types (xsd:nonNegativeInteger)
as xsd:integer, so shapes or data that use one are left to pySHACL. So each fixture is
compared as written, and again with those datatypes spelled xsd:integer (where that changes
anything), which the SPARQL engine must then evaluate itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.namespace import SH

from service import dataset, shacl_sparql, validation

FIXTURES = Path(__file__).resolve().parent / "data" / "shapes"
CASES = sorted(FIXTURES.glob("*/*.ttl"))
# Every derived integer type the store keeps as xsd:integer, as the engine itself lists them.
DERIVED_NAMES = "|".join(sorted(str(t).rsplit("#", 1)[1] for t in shacl_sparql.REWRITTEN_DATATYPES))
DERIVED_INTEGER = re.compile(rf"xsd:({DERIVED_NAMES})\b")


def turtle(path: Path, retyped: bool) -> str:
    """Return a Turtle file's text, derived integer datatypes spelled xsd:integer if asked."""
    text = path.read_text(encoding="utf-8")
    return DERIVED_INTEGER.sub("xsd:integer", text) if retyped else text


def shipped_text(role: str, retyped: bool) -> str:
    return "\n".join(turtle(f.path, retyped) for f in dataset.shipped_files() if f.role == role)


@pytest.fixture(scope="module", params=[False, True], ids=["as-written", "retyped"])
def retyped(request) -> bool:
    return request.param


@pytest.fixture(scope="module")
def shapes(retyped: bool) -> Graph:
    return Graph().parse(data=shipped_text("shapes", retyped), format="turtle")


@pytest.fixture(scope="module")
def ontology(retyped: bool) -> str:
    return shipped_text("ontology", retyped)


DERIVED_INTEGER_USED = re.compile(rf"(\^\^|sh:datatype\s+)xsd:({DERIVED_NAMES})\b")


def needs_retyping(*paths: Path) -> bool:
    """Return whether a file types a value, or asks for one, with a derived integer type."""
    return any(DERIVED_INTEGER_USED.search(p.read_text(encoding="utf-8")) for p in paths)


SHAPES_NEED_RETYPING = needs_retyping(*(f.path for f in dataset.shipped_files()))


def both_engines(data: Graph, shapes: Graph) -> tuple[validation.Report, validation.Report]:
    """Return the reports of pySHACL and of the SPARQL engine on the same data."""
    reference = validation.validate_graphs(data, shapes)
    quads = list(ox.parse(data.serialize(format="nt").encode(), ox.RdfFormat.N_TRIPLES))
    store, lost = validation.store_of(quads)
    return reference, validation.validate_store(store, shapes, lambda: quads, lost_datatype=lost)


def findings(report: validation.Report) -> set[tuple[str, str]]:
    """Return the focus node and rule of each result (nested sh:detail results left out)."""
    graph = report.graph
    return {
        (str(graph.value(result, SH.focusNode)), str(graph.value(result, SH.sourceShape)))
        for result in graph.objects(None, SH.result)
    }


@pytest.mark.parametrize("fixture", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_sparql_engine_agrees_with_pyshacl(
    fixture: Path, retyped: bool, shapes: Graph, ontology: str
) -> None:
    if retyped and not (SHAPES_NEED_RETYPING or needs_retyping(fixture)):
        pytest.skip("nothing to retype: the run as written covers it")
    data = Graph().parse(data=ontology, format="turtle")
    data.parse(data=turtle(fixture, retyped), format="turtle")
    reference, fast = both_engines(data, shapes)
    lost = not retyped and (SHAPES_NEED_RETYPING or needs_retyping(fixture))
    assert fast.engine == ("pySHACL" if lost else "SPARQL")
    assert fast.conforms == reference.conforms
    assert findings(fast) == findings(reference)


def test_sparql_engine_agrees_on_the_shipped_data(
    retyped: bool, shapes: Graph, ontology: str
) -> None:
    data = Graph().parse(data=ontology, format="turtle")
    for source in dataset.shipped_files():
        if source.role == "graph_data":
            data.parse(data=turtle(source.path, retyped), format="turtle")
    reference, fast = both_engines(data, shapes)
    assert fast.engine == ("pySHACL" if SHAPES_NEED_RETYPING and not retyped else "SPARQL")
    assert fast.conforms and reference.conforms
    assert fast.checked_triples == reference.checked_triples


def test_shapes_the_engine_cannot_evaluate_go_to_pyshacl() -> None:
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


def test_one_entry_point_validates_files_a_loaded_dataset_and_served_quads_alike() -> None:
    invalid = sorted(FIXTURES.glob("invalid/*.ttl"))[0]
    files = dataset.selected_files((invalid,))
    loaded = dataset.load(files)
    reports = [validation.validate(source) for source in (files, loaded, loaded.quads)]
    assert {report.engine for report in reports} == {"SPARQL"}
    assert not reports[0].conforms
    assert len({report.json("en") for report in reports}) == 1
    reference = validation.validate(files, engine="pyshacl")
    assert reference.engine == "pySHACL"
    assert findings(reference) == findings(reports[0])
    with pytest.raises(ValueError, match="unknown validation engine"):
        validation.validate(files, engine="fastest")
