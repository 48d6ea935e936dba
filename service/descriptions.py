"""What the service says about itself and its data: VoID, DCAT, the SPARQL service description.

The descriptions are RDF in any format the client negotiates, built from the store's
statistics (counted once per data version) and cached per process and version; they carry an
ETag from the version and a Last-Modified from the store's build time.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import pyoxigraph as ox
from cachetools import LRUCache
from flask import Blueprint, Response, current_app, request

from service.export import FORMATS, RDF_TYPE, serialize_triples
from service.namespaces import (
    DATASET_IRI,
    DCAT,
    DCTERMS,
    ID_BASE,
    ONTOLOGY_IRI,
    PREFIXES,
    SD,
    VOID,
    XSD,
    ZI,
)
from service.negotiation import negotiate
from service.security import allow_cross_origin
from service.settings import get_settings
from service.store import get_store
from service.urls import public_url

bp = Blueprint("descriptions", __name__)
bp.after_request(allow_cross_origin)

DUMP_STEM = "zigraph"  # the downloads' file stem (service.downloads)
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
XSD_INTEGER = str(XSD.integer)
CACHED_ENTRIES = 4  # the statistics of a few versions
Value = TypeVar("Value")
W3C_FORMATS = "http://www.w3.org/ns/formats/"
W3C_FORMAT_NAMES = {
    "json": "SPARQL_Results_JSON",
    "xml": "SPARQL_Results_XML",
    "csv": "SPARQL_Results_CSV",
    "tsv": "SPARQL_Results_TSV",
}
W3C_RDF_FORMAT_NAMES = {
    "ttl": "Turtle",
    "jsonld": "JSON-LD",
    "nt": "N-Triples",
    "xml": "RDF_XML",
    "trig": "TriG",
    "nq": "N-Quads",
}
_building = threading.RLock()


def _cached(key: tuple, build: Callable[[], Value]) -> Value:
    """Return a value cached for this process and dataset version, building it once.

    The most recently used entries are kept (a few versions), so a remote store that
    changes does not fill the memory with its old versions.
    """
    cache = current_app.extensions.setdefault("zigraph.dumps", LRUCache(maxsize=CACHED_ENTRIES))
    with _building:
        if key not in cache:
            cache[key] = build()
        return cache[key]


def served_version() -> tuple[str, str | None]:
    """Return the served data's version and the time its store was built (None if unknown)."""
    metadata = get_store().metadata()
    return metadata["version"], metadata.get("built")


def conditional(response: Response, version: str, built: str | None, tag: str) -> Response:
    """Return the response with the version's ETag and cache headers, or a 304 to match."""
    response.set_etag(f"{version}-{tag}")
    if built:
        response.last_modified = datetime.fromisoformat(built.replace("Z", "+00:00"))
    response.cache_control.public = True
    response.cache_control.max_age = get_settings().dump_max_age
    response.vary.add("Accept")
    response.make_conditional(request)  # updates the response in place (a 304, a range)
    return response


def _integer(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=ox.NamedNode(XSD_INTEGER))


def _partition(kind: str, iri: str) -> ox.NamedNode:
    return ox.NamedNode(f"{DATASET_IRI}/{kind}/{hashlib.sha256(iri.encode()).hexdigest()[:12]}")


def catalog_triples(with_statistics: bool) -> list[ox.Triple]:
    """Return the DCAT description of the dataset and its dumps, with VoID statistics if asked."""
    a = ox.NamedNode(RDF_TYPE)
    dataset = ox.NamedNode(DATASET_IRI)
    license_ = ox.NamedNode(LICENSE)
    endpoint = ox.NamedNode(public_url("sparql.query"))
    catalog = ox.NamedNode(public_url("descriptions.catalog"))
    triples = [
        ox.Triple(catalog, a, ox.NamedNode(DCAT.Catalog)),
        ox.Triple(catalog, ox.NamedNode(DCAT.dataset), dataset),
        ox.Triple(catalog, ox.NamedNode(DCAT.service), endpoint),
        ox.Triple(catalog, ox.NamedNode(DCTERMS.title), ox.Literal("zigraph", language="en")),
        ox.Triple(dataset, a, ox.NamedNode(VOID.Dataset)),
        ox.Triple(dataset, a, ox.NamedNode(DCAT.Dataset)),
        ox.Triple(
            dataset,
            ox.NamedNode(DCTERMS.title),
            ox.Literal("Zona Integritas designations of Indonesian public bodies", language="en"),
        ),
        ox.Triple(dataset, ox.NamedNode(DCTERMS.license), license_),
        ox.Triple(dataset, ox.NamedNode(VOID.sparqlEndpoint), endpoint),
        ox.Triple(dataset, ox.NamedNode(VOID.uriSpace), ox.Literal(ID_BASE)),
        ox.Triple(endpoint, a, ox.NamedNode(DCAT.DataService)),
        ox.Triple(endpoint, ox.NamedNode(DCAT.endpointURL), endpoint),
        ox.Triple(endpoint, ox.NamedNode(DCAT.servesDataset), dataset),
        ox.Triple(endpoint, ox.NamedNode(DCTERMS.license), license_),
    ]
    for fmt in FORMATS.values():
        url = ox.NamedNode(public_url("downloads.download", extension=fmt.extension))
        triples += [
            ox.Triple(dataset, ox.NamedNode(VOID.dataDump), url),
            ox.Triple(dataset, ox.NamedNode(DCAT.distribution), url),
            ox.Triple(url, a, ox.NamedNode(DCAT.Distribution)),
            ox.Triple(url, ox.NamedNode(DCAT.downloadURL), url),
            ox.Triple(
                url, ox.NamedNode(DCAT.mediaType), ox.NamedNode(MEDIA_TYPES + fmt.media_type)
            ),
            ox.Triple(url, ox.NamedNode(DCTERMS.license), license_),
        ]
    if with_statistics:
        triples += _void_statistics(dataset)
    return triples


def _void_statistics(dataset: ox.NamedNode) -> list[ox.Triple]:
    version, _ = served_version()
    stats = _cached(("statistics", version), lambda: get_store().statistics())
    triples = [
        ox.Triple(dataset, ox.NamedNode(VOID.triples), _integer(stats["triples"])),
        ox.Triple(dataset, ox.NamedNode(VOID.distinctSubjects), _integer(stats["subjects"])),
        ox.Triple(dataset, ox.NamedNode(VOID.entities), _integer(stats["entities"])),
        ox.Triple(dataset, ox.NamedNode(VOID.classes), _integer(len(stats["classes"]))),
        ox.Triple(dataset, ox.NamedNode(VOID.properties), _integer(len(stats["properties"]))),
        ox.Triple(dataset, ox.NamedNode(DCTERMS.identifier), ox.Literal(version)),
    ]
    for example in stats["examples"]:
        triples.append(
            ox.Triple(dataset, ox.NamedNode(VOID.exampleResource), ox.NamedNode(example))
        )
    used = set(stats["classes"]) | set(stats["properties"])
    for namespace in sorted(set(PREFIXES.values()) - {ID_BASE}):
        if any(iri.startswith(namespace) for iri in used):
            vocabulary = ONTOLOGY_IRI if namespace == str(ZI) else namespace
            triples.append(
                ox.Triple(dataset, ox.NamedNode(VOID.vocabulary), ox.NamedNode(vocabulary))
            )
    for kind, key, count_property in (
        ("class", "classes", VOID.entities),
        ("property", "properties", VOID.triples),
    ):
        for iri, count in sorted(stats[key].items()):
            node = _partition(kind, iri)
            partition = VOID.classPartition if kind == "class" else VOID.propertyPartition
            triples += [
                ox.Triple(dataset, ox.NamedNode(partition), node),
                ox.Triple(node, ox.NamedNode(VOID[kind]), ox.NamedNode(iri)),
                ox.Triple(node, ox.NamedNode(count_property), _integer(count)),
            ]
    return triples


def _description(with_statistics: bool, tag: str) -> Response:
    negotiated = negotiate(graph_answer=True)
    version, built = served_version()
    body = serialize_triples(catalog_triples(with_statistics), negotiated.serialization)
    response = Response(body, mimetype=negotiated.media_type)
    return conditional(response, version, built, f"{tag}-{negotiated.serialization.name}")


@bp.route("/.well-known/void")
def void() -> Response:
    """Answer the VoID description of the dataset: size, partitions, vocabularies, dumps."""
    return _description(with_statistics=True, tag="void")


@bp.route("/catalog")
def catalog() -> Response:
    """Answer the DCAT catalog: the dataset, its downloads and the SPARQL service."""
    return _description(with_statistics=False, tag="catalog")


def description_triples(endpoint: str, graphs: list[str]) -> list[ox.Triple]:
    """Return the SPARQL Service Description of the endpoint at ``endpoint``."""
    service = ox.NamedNode(endpoint)
    dataset = ox.NamedNode(DATASET_IRI)
    default_graph = ox.BlankNode("defaultGraph")
    a = ox.NamedNode(RDF_TYPE)

    def sd(name: str) -> ox.NamedNode:
        return ox.NamedNode(SD[name])

    triples = [
        ox.Triple(service, a, sd("Service")),
        ox.Triple(service, sd("endpoint"), service),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, a, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, a, sd("Graph")),
    ]
    for name in (*W3C_FORMAT_NAMES.values(), *W3C_RDF_FORMAT_NAMES.values()):
        triples.append(ox.Triple(service, sd("resultFormat"), ox.NamedNode(W3C_FORMATS + name)))
    for graph in graphs:
        node = ox.BlankNode("graph" + hashlib.sha256(graph.encode()).hexdigest()[:12])
        triples += [
            ox.Triple(dataset, sd("namedGraph"), node),
            ox.Triple(node, a, sd("NamedGraph")),
            ox.Triple(node, sd("name"), ox.NamedNode(graph)),
        ]
    return triples


def service_description() -> Response:
    """Answer the SPARQL Service Description, in the negotiated RDF format."""
    negotiated = negotiate(graph_answer=True)
    endpoint = public_url("sparql.query")
    body = serialize_triples(
        description_triples(endpoint, get_store().graphs()), negotiated.serialization
    )
    response = Response(body, mimetype=negotiated.media_type)
    response.vary.add("Accept")
    return response
