"""What a reasoner concludes from the ontology and the data: only what we mean.

The OWL-RL closure of the ontology, the shipped data and the axioms of the vocabularies they
reuse (tests/data/vocabularies) must be consistent and must type nothing in a way we do not
intend: a rule is not a concept, an outside item is not described, no two nodes are merged.
"""

from __future__ import annotations

from pathlib import Path

import owlrl
import pytest
from owlrl.Namespaces import ERRNS
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, PROV, RDF, RDFS, SKOS

from service.namespaces import ID_BASE, OA, ORG, SCHEMA, WD, ZI
from tests.conftest import shipped_graph

VOCABULARIES = Path(__file__).resolve().parent / "data" / "vocabularies"


# Every entity is exactly one kind of thing; a node in two kinds is an unintended entailment.
KINDS = {
    "concept": (SKOS.Concept,),
    "concept scheme": (SKOS.ConceptScheme,),
    "organisation": (ORG.Organization, SCHEMA.Organization),
    "person": (SCHEMA.Person,),
    "post": (ORG.Post,),
    "place": (SCHEMA.Place,),
    "fact stated by a source": (ZI.AttestedFact,),
    "activity": (PROV.Activity,),
    "passage": (ZI.Passage,),
    "selector": (OA.Selector,),
    "source document": (SCHEMA.NewsArticle,),
    "regulation": (SCHEMA.Legislation,),
    "reference data record": (ZI.ReferenceData,),
}


@pytest.fixture(scope="module")
def asserted() -> Graph:
    return shipped_graph("ontology", "graph_data")


@pytest.fixture(scope="module")
def closure(asserted: Graph) -> Graph:
    graph = Graph()
    graph += asserted
    graph.parse(VOCABULARIES / "reused-axioms.ttl")
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    return graph


def entities(graph: Graph) -> set[URIRef]:
    return {s for s in graph.subjects() if isinstance(s, URIRef) and s.startswith(ID_BASE)}


def kinds_of(closure: Graph, node: URIRef) -> set[str]:
    types = set(closure.objects(node, RDF.type))
    return {kind for kind, classes in KINDS.items() if types & set(classes)}


def test_the_closure_is_consistent(closure: Graph) -> None:
    errors = [
        str(closure.value(e, ERRNS.error)) for e in closure.subjects(RDF.type, ERRNS.ErrorMessage)
    ]
    assert errors == []
    assert list(closure.subjects(RDF.type, OWL.Nothing)) == []
    unsatisfiable = {c for c in closure.subjects(RDFS.subClassOf, OWL.Nothing) if c != OWL.Nothing}
    assert {c for c in unsatisfiable if c.startswith(str(ZI))} == set()


def test_every_entity_is_one_kind_of_thing(closure: Graph, asserted: Graph) -> None:
    kinds = {node: kinds_of(closure, node) for node in entities(asserted)}
    assert {node: found for node, found in kinds.items() if len(found) != 1} == {}


def test_only_designations_and_assessment_areas_are_concepts(
    closure: Graph, asserted: Graph
) -> None:
    meant = set(asserted.subjects(RDF.type, ZI.Designation)) | set(
        asserted.subjects(RDF.type, ZI.AssessmentArea)
    )
    concepts = {c for c in closure.subjects(RDF.type, SKOS.Concept) if c.startswith(ID_BASE)}
    assert concepts == meant
    assert not set(closure.subjects(RDF.type, ZI.DesignationRule)) & concepts


def test_no_two_entities_are_inferred_to_be_the_same(closure: Graph) -> None:
    merged = {(s, o) for s, o in closure.subject_objects(OWL.sameAs) if s != o}
    assert merged == set()


def test_outside_items_are_identified_not_described(closure: Graph) -> None:
    """A Wikidata item identifies a place; no statement about the place carries over to it."""
    outside = {o for o in closure.objects(None, SCHEMA.sameAs) if isinstance(o, URIRef)}
    assert outside and all(item.startswith(str(WD)) for item in outside)
    said = {
        (s, p, o)
        for item in outside
        for s, p, o in closure.triples((item, None, None))
        if not (p == OWL.sameAs and o == item)
    }
    assert said == set()
