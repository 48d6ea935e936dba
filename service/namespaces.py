"""Namespaces and IRI bases of zigraph: every IRI string of the project is typed here once."""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SH, SKOS, VOID, XSD

ZI = Namespace("https://w3id.org/zigraph/ontology#")
ONTOLOGY_IRI = "https://w3id.org/zigraph/ontology"
ID_BASE = "https://w3id.org/zigraph/id/"
GRAPH_BASE = "https://w3id.org/zigraph/graph/"
DATASET_IRI = "https://w3id.org/zigraph/dataset"
SOURCE_BASE = "https://w3id.org/zigraph/source/"  # the source documents' texts

ORG = Namespace("http://www.w3.org/ns/org#")
CPOV = Namespace("http://data.europa.eu/m8g/")
SCHEMA = Namespace("https://schema.org/")
OA = Namespace("http://www.w3.org/ns/oa#")
VANN = Namespace("http://purl.org/vocab/vann/")
WD = Namespace("http://www.wikidata.org/entity/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")

# Prefixes bound in every serialization the project writes (exports, CONSTRUCT results, pages).
PREFIXES: dict[str, str] = {
    "zi": str(ZI),
    "zid": ID_BASE,
    "org": str(ORG),
    "cpov": str(CPOV),
    "schema": str(SCHEMA),
    "prov": str(PROV),
    "oa": str(OA),
    "skos": str(SKOS),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "owl": str(OWL),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "sh": str(SH),
    "vann": str(VANN),
    "void": str(VOID),
    "dcat": str(DCAT),
    "sd": str(SD),
    "wd": str(WD),
    "hydra": str(HYDRA),
}

# The SHACL shapes (shapes/zigraph-shapes.ttl): reports compact a rule to zsh:<local name>.
ZSH = Namespace("https://w3id.org/zigraph/shapes#")
PREFIXES["zsh"] = str(ZSH)


def compact(iri: str) -> str:
    """Return ``prefix:local`` for an IRI in the longest matching known namespace, else the IRI."""
    best = ""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(PREFIXES.get(best, "")):
            local = iri[len(namespace) :]
            if local and not local.startswith("//"):
                best = prefix
    return f"{best}:{iri[len(PREFIXES[best]) :]}" if best else iri
