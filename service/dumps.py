"""Whole-dataset downloads, their VoID and DCAT descriptions, and the health check.

Dumps live at stable URLs (``/download/zigraph.ttl`` …) and are byte-identical to
``zigraph export --format X``: the store writes them (``Backend.dump``) with the same
writer, ``export.write_dataset``, which sorts the quads on disk and names their blank nodes
(a store built from the files holds them under random names). A dump is written once per
format and dataset version to a file (``dump_folder``: ``dumps/`` in the embedded store's
folder), shared by every web process and sent from there, so no process holds a whole dump in
memory; a file of another version is removed an hour after it was written. Dumps carry an
ETag from the dataset version and a Last-Modified from the store's build time, so caches
revalidate with a 304.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pyoxigraph as ox
from cachetools import LRUCache
from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import NotFound

from service.errors import ZigraphError
from service.export import FORMATS, RDF_TYPE, RdfSerialization, serialize_triples
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
from service.settings import get_settings
from service.sparql import allow_cross_origin, negotiate
from service.store import get_store
from service.store.embedded import EmbeddedBackend
from service.urls import public_url

log = logging.getLogger(__name__)
bp = Blueprint("dumps", __name__)
bp.after_request(allow_cross_origin)

DUMP_STEM = "zigraph"
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
XSD_INTEGER = str(XSD.integer)
CACHED_ENTRIES = 4  # the statistics of a few versions
STALE_DUMP_SECONDS = 3600  # another version's dump file is removed this long after its writing
_building = threading.RLock()


def _cached(key: tuple, build) -> object:
    """Return a value cached for this process and dataset version, building it once.

    The most recently used entries are kept (a few versions), so a remote store that
    changes does not fill the memory with its old versions.
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
    response.cache_control.max_age = get_settings().dump_max_age
    response.vary.add("Accept")
    return response.make_conditional(request)


def dump_folder() -> Path:
    """Return the folder the dumps of the served data are written to.

    ``dumps/`` inside the embedded store's folder (the store ignores it, and a rebuild removes
    it with the store); for a remote store, or where that folder cannot be written, a folder
    of this user's in the temporary directory, named after the store.
    """
    store = get_store()
    if isinstance(store, EmbeddedBackend):
        folder = Path(store.location) / "dumps"
        try:
            folder.mkdir(exist_ok=True)
            return folder
        except OSError as error:
            log.warning("cannot write dumps beside the store (%s); using a temporary folder", error)
    name = hashlib.sha256(store.location.encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"zigraph-dumps-{os.getuid()}-{name}"
    folder.mkdir(mode=0o700, exist_ok=True)
    found = folder.lstat()
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o077:
        # Someone else's, or open to others, in a shared folder: never write dumps there.
        if "zigraph.dump_folder" not in current_app.extensions:
            log.warning("%s is not this user's private folder; dumps go to a new one", folder)
            current_app.extensions["zigraph.dump_folder"] = tempfile.mkdtemp(prefix="zigraph-")
        folder = Path(current_app.extensions["zigraph.dump_folder"])
    return folder


def dump_file(version: str, fmt: RdfSerialization) -> Path:
    """Return the file of the dump of ``version`` in ``fmt``, writing it first if needed.

    The dump is written under a temporary name and renamed, so a file with the final name is
    always whole; two processes that write the same dump at once each rename a whole file.
    """
    folder = dump_folder()
    path = folder / f"{DUMP_STEM}-{version}.{fmt.extension}"
    with _building:
        if path.exists():
            return path
        partial = folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial"
        try:
            with partial.open("wb") as output:
                get_store().dump(fmt, output)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        for old in folder.glob(f"{DUMP_STEM}-*"):
            # Another version's, unchanged for an hour: no answer still about to open it.
            current = old.name.startswith(f"{DUMP_STEM}-{version}.")
            if not current and time.time() - old.stat().st_mtime > STALE_DUMP_SECONDS:
                old.unlink(missing_ok=True)
    return path


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
    response = _conditional(Response(mimetype=fmt.media_type), version, built, fmt.name)
    if response.status_code == 304:  # the client has it: no file is opened
        return response
    path = dump_file(version, fmt)
    response.response = _chunks(path)
    response.content_length = path.stat().st_size
    response.headers["Content-Disposition"] = f'inline; filename="{DUMP_STEM}.{fmt.extension}"'
    return response


def _chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    """Yield a file's bytes; it is opened when sending starts and closed when it ends."""
    with path.open("rb") as file:
        while chunk := file.read(size):
            yield chunk


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
