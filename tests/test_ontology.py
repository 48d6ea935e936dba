"""The ontology documents itself, and defines every zi: term the data and shapes use."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS

from service.namespaces import OA, ONTOLOGY_IRI, VANN, ZI
from tests.conftest import shipped_graph

ONTOLOGY = URIRef(ONTOLOGY_IRI)
TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return shipped_graph("ontology")


def defined_terms(ontology: Graph) -> set[URIRef]:
    """Return the zi: classes and properties the ontology declares."""
    return {
        term
        for kind in TERM_TYPES
        for term in ontology.subjects(RDF.type, kind)
        if isinstance(term, URIRef) and term.startswith(str(ZI))
    }


def used_terms(graph: Graph) -> set[URIRef]:
    """Return every zi: IRI in any position of ``graph``."""
    return {
        node
        for triple in graph
        for node in triple
        if isinstance(node, URIRef) and node.startswith(str(ZI))
    }


def languages(graph: Graph, subject: URIRef, predicate: URIRef) -> set[str | None]:
    return {o.language for o in graph.objects(subject, predicate) if isinstance(o, Literal)}


def test_ontology_header(ontology: Graph) -> None:
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in ontology
    for predicate in (OWL.versionIRI, OWL.versionInfo, DCTERMS.license):
        assert ontology.value(ONTOLOGY, predicate) is not None, predicate
    for predicate in (DCTERMS.title, DCTERMS.description):
        assert {"id", "en"} <= languages(ontology, ONTOLOGY, predicate), predicate
    assert str(ontology.value(ONTOLOGY, VANN.preferredNamespacePrefix)) == "zi"
    assert str(ontology.value(ONTOLOGY, VANN.preferredNamespaceUri)) == str(ZI)


def test_ontology_defines_terms(ontology: Graph) -> None:
    assert len(defined_terms(ontology)) > 40


def test_every_term_is_labelled_and_defined_in_both_languages(ontology: Graph) -> None:
    for term in defined_terms(ontology):
        for predicate in (RDFS.label, SKOS.definition):
            assert {"id", "en"} <= languages(ontology, term, predicate), (term, predicate)
        assert ontology.value(term, RDFS.isDefinedBy) == ONTOLOGY, term


def test_every_term_used_in_data_and_shapes_is_defined(ontology: Graph) -> None:
    undefined = used_terms(shipped_graph("graph_data", "shapes")) - defined_terms(ontology)
    assert undefined == set()


def test_every_term_used_in_the_ontology_is_defined(ontology: Graph) -> None:
    assert used_terms(ontology) - defined_terms(ontology) == set()


def test_fixed_names_are_defined(ontology: Graph) -> None:
    fixed = (
        "DesignationConferral recipient designation assessmentYear conferredBy handedOverBy "
        "conferralDate ceremony SelectionPipeline hasStage SelectionStage stageOrder "
        "memberCount namedMember forYear Passage prerequisite"
    )
    assert {ZI[name] for name in fixed.split()} <= defined_terms(ontology)


def test_passage_is_a_web_annotation_specific_resource_and_a_prov_entity(
    ontology: Graph,
) -> None:
    parents = set(ontology.objects(ZI.Passage, RDFS.subClassOf))
    assert {OA.SpecificResource, PROV.Entity} <= parents
