"""Whole-dataset downloads, their VoID and DCAT descriptions, and the health check.

Dumps live at stable URLs (``/download/zigraph.ttl`` …) and are byte-identical to
``zigraph export --format X``: the store writes them (``Backend.dump``) with the same
writer, ``export.write_dataset``, which sorts the quads on disk and names their blank nodes
(a store built from the files holds them under random names). A dump is built once per
format and dataset version and kept in the web process's memory (least recently used out),
never on disk. Dumps carry an ETag from the dataset version and a Last-Modified from the
store's build time, so caches revalidate with a 304.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime

import pyoxigraph as ox
from cachetools import LRUCache
from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import NotFound

from service.errors import ZigraphError
from service.export import FORMATS, RDF_TYPE, serialize_triples
from service.namespaces import (
    DATASET_IRI,
    DCAT,
    DCTERMS,
    ID_BASE,
    ONTOLOGY_IRI,
    PREFIXES,
    VOID,
    XSD,
    ZI,
)
from service.sparql import allow_cross_origin, negotiate
from service.store import get_store
from service.urls import public_url

bp = Blueprint("dumps", __name__)
bp.after_request(allow_cross_origin)

DUMP_STEM = "zigraph"
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
XSD_INTEGER = str(XSD.integer)
CACHED_ENTRIES = 2 * (len(FORMATS) + 2)  # dumps, quads and statistics of two versions
_building = threading.RLock()


def _cached(key: tuple, build) -> object:
    """Return a value cached for this process and dataset version, building it once.

    The most recently used entries are kept (every format of about two versions), so a
    remote store that changes does not fill the memory with its old versions.
    """
    cache = current_app.extensions.setdefault("zigraph.dumps", LRUCache(maxsize=CACHED_ENTRIES))
    with _building:
        if key not in cache:
            cache[key] = build()
        return cache[key]


def _version() -> tuple[str, str | None]:
    metadata = get_store().metadata()
    return metadata["version"], metadata.get("built")


def _conditional(response: Response, version: str, built: str | None, tag: str) -> Response:
    response.set_etag(f"{version}-{tag}")
    if built:
        response.last_modified = datetime.fromisoformat(built.replace("Z", "+00:00"))
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["DUMP_MAX_AGE"]
    response.vary.add("Accept")
    return response.make_conditional(request)


@bp.route(f"/download/{DUMP_STEM}.<extension>")
def download(extension: str) -> Response:
    """Answer the whole dataset in the format named by the file extension."""
    by_extension = {f.extension: f for f in FORMATS.values()}
    fmt = by_extension.get(extension)
    if fmt is None:
        raise NotFound(
            f"No dump with extension .{extension}; choose one of "
            + ", ".join(f"{DUMP_STEM}.{e}" for e in by_extension)
        )
    version, built = _version()
    body = _cached(("dump", version, fmt.name), lambda: get_store().dump(fmt))
    response = Response(body, mimetype=fmt.media_type)
    response.headers["Content-Disposition"] = f'inline; filename="{DUMP_STEM}.{fmt.extension}"'
    return _conditional(response, version, built, fmt.name)


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
    catalog = ox.NamedNode(public_url("dumps.catalog"))
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
        url = ox.NamedNode(public_url("dumps.download", extension=fmt.extension))
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
    version, _ = _version()
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
    version, built = _version()
    body = serialize_triples(catalog_triples(with_statistics), negotiated.serialization)
    response = Response(body, mimetype=negotiated.media_type)
    return _conditional(response, version, built, f"{tag}-{negotiated.serialization.name}")


@bp.route("/.well-known/void")
def void() -> Response:
    """Answer the VoID description of the dataset: size, partitions, vocabularies, dumps."""
    return _description(with_statistics=True, tag="void")


@bp.route("/catalog")
def catalog() -> Response:
    """Answer the DCAT catalog: the dataset, its downloads and the SPARQL service."""
    return _description(with_statistics=False, tag="catalog")


@bp.route("/healthz")
def healthz() -> Response:
    """Answer whether the store is reachable, with its size and dataset version."""
    backend = get_store()
    try:
        health = backend.health()
    except ZigraphError as error:
        response = jsonify(status="unavailable", store=backend.name, message=error.message)
        response.status_code = 503
        return response
    return jsonify(status="ok", **health)
