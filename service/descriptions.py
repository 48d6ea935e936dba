"""What the service says about itself and its data: VoID, DCAT-AP, the SPARQL service description.

The descriptions are RDF in any format the client negotiates, and a page for a browser; they
are built from the store's statistics (counted once per data version) and the settings, and
carry an ETag from the version and a Last-Modified from the data's own time.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar, cast
from urllib.parse import urlsplit

import pyoxigraph as ox
from babel import Locale
from babel.numbers import format_decimal
from cachetools import LRUCache
from flask import Blueprint, Response, current_app, render_template, request, url_for

from service.export import FORMATS, RDF_TYPE, serialize_triples
from service.i18n import format_date, get_language, has_message, translate_to
from service.namespaces import (
    DATASET_IRI,
    DCAT,
    DCTERMS,
    EU_AUTHORITY,
    FOAF,
    IANA_MEDIA_TYPES,
    ID_BASE,
    ONTOLOGY_IRI,
    PREFIXES,
    RDFS,
    SCHEMA,
    SD,
    SKOS,
    VCARD,
    VOID,
    XSD,
    ZI,
    compact,
)
from service.negotiation import GRAPH_TYPES, names_html_first, negotiate
from service.pages.labels import Labels, link_for
from service.pages.vocabulary import display_rank
from service.security import allow_cross_origin
from service.settings import get_settings
from service.store import get_store
from service.terms import Term, term_value
from service.urls import public_url

bp = Blueprint("descriptions", __name__)
bp.after_request(allow_cross_origin)

DUMP_STEM = "zigraph"  # the downloads' file stem (service.downloads)
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
XSD_INTEGER = str(XSD.integer)
XSD_DATETIME = str(XSD.dateTime)
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
CATALOG_LANGUAGES = ("id", "en")  # the catalogue's titles and descriptions, in both
# Languages by their BCP 47 tag, as the EU language authority names them (ISO 639-2/B codes);
# any other is named by the Library of Congress's ISO 639-1 IRI.
EU_LANGUAGES = {
    "id": "IND",
    "en": "ENG",
    "ms": "MSA",
    "jv": "JAV",
    "su": "SUN",
    "nl": "NLD",
    "de": "DEU",
    "fr": "FRA",
    "es": "SPA",
    "pt": "POR",
    "ar": "ARA",
    "zh": "ZHO",
    "ja": "JPN",
}
ISO_639_1 = "http://id.loc.gov/vocabulary/iso639-1/"
# Each dump's file type in the EU file-type authority, and the format's name.
FILE_TYPES = {
    "ttl": ("RDF_TURTLE", "Turtle"),
    "jsonld": ("JSON_LD", "JSON-LD"),
    "nt": ("RDF_N_TRIPLES", "N-Triples"),
    "xml": ("RDF_XML", "RDF/XML"),
    "trig": ("RDF_TRIG", "TriG"),
    "nq": ("RDF_N_QUADS", "N-Quads"),
}
KEYWORD_CLASSES = 6  # the largest classes name the dataset's keywords and its description
LABELLED_CANDIDATES = 100  # the largest classes whose labels are read to find those six
LISTED_PLACES = 12  # the places the data names that the catalogue lists as its coverage
CATALOG_PREFIXES = {**PREFIXES, "vcard": str(VCARD)}
DATED = (str(XSD.date), XSD_DATETIME)
SECTION_HEADINGS = {
    "catalog": "description_kind_catalog",
    "dataset": "description_kind_dataset",
    "service": "description_kind_service",
    "agent": "description_kind_agent",
    "contact": "description_kind_contact",
    "distribution": "description_distribution",
}
NAME_PREDICATES = (str(DCTERMS.title), str(FOAF.name), str(VCARD.fn))
# Shown otherwise on a description page: in the heading, the downloads' table, the partitions'.
HIDDEN_ON_PAGE = (
    RDF_TYPE,
    *NAME_PREDICATES,
    str(VOID.classPartition),
    str(VOID.propertyPartition),
    str(VOID.dataDump),
    str(DCAT.distribution),
)
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


def data_time() -> str | None:
    """Return the data's own time, ISO 8601: the setting, else the newest data file's.

    Never the time the store was built: a new deployment of the same files claims the same
    time. None when neither is known (a remote store, whose files zigraph never sees).
    """
    return get_settings().data_modified or get_store().metadata().get("modified")


def served_version() -> tuple[str, str | None]:
    """Return the served data's version and its own time (``data_time``, None if unknown)."""
    return get_store().metadata()["version"], data_time()


def _as_datetime(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def conditional(response: Response, version: str, modified: str | None, tag: str) -> Response:
    """Return the response with the version's ETag and cache headers, or a 304 to match."""
    response.set_etag(f"{version}-{tag}")
    if modified:
        response.last_modified = _as_datetime(modified)
    response.cache_control.public = True
    response.cache_control.max_age = get_settings().dump_max_age
    response.vary.add("Accept")
    response.make_conditional(request)  # updates the response in place (a 304, a range)
    return response


def _integer(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=ox.NamedNode(XSD_INTEGER))


def _partition(kind: str, iri: str) -> ox.NamedNode:
    return ox.NamedNode(f"{DATASET_IRI}/{kind}/{hashlib.sha256(iri.encode()).hexdigest()[:12]}")


def _words(setting: str, separator: str | None = None) -> list[str]:
    return [w.strip() for w in setting.split(separator) if w.strip()]


def _statistics() -> dict:
    version, _ = served_version()
    return _cached(("statistics", version), lambda: get_store().statistics())


def _both(key: str, **values: object) -> dict[str, str]:
    """Return an interface string in every language of the catalogue."""
    return {lang: translate_to(lang, key, **values) for lang in CATALOG_LANGUAGES}


def _timestamp(value: str) -> ox.Literal:
    """Return a date (YYYY-MM-DD) or a moment (ISO 8601) as an xsd:date or xsd:dateTime."""
    if len(value) == 10:
        return ox.Literal(value, datatype=ox.NamedNode(str(XSD.date)))
    moment = _as_datetime(value).astimezone(UTC)
    return ox.Literal(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=ox.NamedNode(XSD_DATETIME))


def language_iri(tag: str) -> str:
    """Return the IRI of a language (a BCP 47 primary tag): the EU authority's where it has one."""
    code = EU_LANGUAGES.get(tag)
    return f"{EU_AUTHORITY}language/{code}" if code else ISO_639_1 + tag


def theme_iri(theme: str) -> str:
    """Return the IRI of an EU data theme given by its code (GOVE) or its IRI."""
    return theme if ":" in theme else f"{EU_AUTHORITY}data-theme/{theme.upper()}"


def _labelled(triples: list[ox.Triple], node: ox.NamedNode, predicate: str, texts) -> None:
    """Add one literal per language (``texts`` by language), or one untagged literal."""
    if isinstance(texts, str):
        triples.append(ox.Triple(node, ox.NamedNode(predicate), ox.Literal(texts)))
        return
    for lang, text in texts.items():
        triples.append(ox.Triple(node, ox.NamedNode(predicate), ox.Literal(text, language=lang)))


def _title_and_description(stats: dict) -> tuple[dict[str, str], dict[str, str], dict]:
    """Return the dataset's title, description and keywords by language: settings, else data."""
    settings = get_settings()
    members = stats["data_classes"]["members"]
    stated = sorted(stats["data_classes"]["stated"], key=lambda c: (-members[c], c))
    labels: dict[str, dict[str, str]] = {}
    if stated:
        # Only classes the data labels name its keywords: a technical class borrowed from
        # another vocabulary (a text selector) says nothing to a reader of a catalogue.
        values = " ".join(f"<{c}>" for c in stated[:LABELLED_CANDIDATES])
        rows = (
            get_store()
            .query(
                # One pattern per property: two VALUES blocks joined with ?c ?p ?l make the
                # engine scan the store (0.9 s at a million triples).
                f"SELECT ?c ?l WHERE {{ VALUES ?c {{ {values} }} "
                f"{{ ?c <{SKOS.prefLabel}> ?l }} UNION {{ ?c <{RDFS.label}> ?l }} "
                "FILTER(isLiteral(?l)) }"
            )
            .rows
        )
        for cls, text in rows:
            literal = cast(ox.Literal, text)
            labels.setdefault(term_value(cls), {}).setdefault(literal.language or "", literal.value)
    largest = [c for c in stated if c in labels][:KEYWORD_CLASSES]

    def label(cls: str, lang: str) -> str:
        found = labels.get(cls, {})
        return found.get(lang) or found.get("") or compact(cls)

    titles, descriptions, keywords = {}, {}, {}
    for lang in CATALOG_LANGUAGES:
        titles[lang] = getattr(settings, f"dataset_title_{lang}") or translate_to(
            lang, "catalog_default_title"
        )
        listed = ", ".join(
            f"{label(c, lang)} ({format_decimal(members[c], locale=lang)})" for c in largest
        )
        descriptions[lang] = getattr(settings, f"dataset_description_{lang}") or translate_to(
            lang,
            "catalog_default_description",
            triples=format_decimal(stats["triples"], locale=lang),
            entities=format_decimal(stats["entities"], locale=lang),
            graphs=format_decimal(len(get_store().graphs()), locale=lang),
            classes=listed,
        )
        keywords[lang] = _words(getattr(settings, f"dataset_keywords_{lang}"), ",") or [
            label(c, lang) for c in largest
        ]
    return titles, descriptions, keywords


def catalog_triples(with_statistics: bool) -> list[ox.Triple]:
    """Return the DCAT-AP description of the catalogue, the dataset, its dumps and the endpoint,
    with VoID statistics if asked.

    What the data says (its languages, years, places, size and classes) comes from the
    statistics counted when the store was built; the rest (publisher, contact, title,
    themes) from the settings, defaulting to what is true of any deployment.
    """
    settings = get_settings()
    stats = _statistics()
    coverage = stats.get("coverage") or {"languages": [], "years": None, "places": {}}

    def node(iri: str) -> ox.NamedNode:
        return ox.NamedNode(iri)

    def triple(subject: ox.NamedNode, predicate: str, obj: ox.NamedNode | ox.Literal) -> ox.Triple:
        return ox.Triple(subject, node(predicate), obj)

    dataset = node(DATASET_IRI)
    license_ = node(LICENSE)
    endpoint = node(public_url("sparql.query"))
    catalog_url = public_url("descriptions.catalog")
    catalog = node(catalog_url)
    home = node(public_url("browse.home"))
    publisher = node(catalog_url + "#publisher")
    contact = node(catalog_url + "#contact-point")
    period = node(catalog_url + "#temporal-coverage")
    titles, descriptions, keywords = _title_and_description(stats)
    modified = data_time()
    issued = settings.dataset_issued or modified
    host = urlsplit(public_url("browse.home")).netloc
    triples = [
        triple(catalog, RDF_TYPE, node(DCAT.Catalog)),
        triple(catalog, DCAT.dataset, dataset),
        triple(catalog, DCAT.service, endpoint),
        triple(catalog, DCTERMS.publisher, publisher),
        triple(catalog, DCTERMS.license, license_),
        triple(catalog, FOAF.homepage, home),
        triple(home, RDF_TYPE, node(FOAF.Document)),
        triple(dataset, RDF_TYPE, node(VOID.Dataset)),
        triple(dataset, RDF_TYPE, node(DCAT.Dataset)),
        triple(dataset, DCTERMS.publisher, publisher),
        triple(dataset, DCAT.contactPoint, contact),
        triple(dataset, DCAT.landingPage, home),
        triple(dataset, DCTERMS.license, license_),
        triple(dataset, VOID.sparqlEndpoint, endpoint),
        triple(dataset, VOID.uriSpace, ox.Literal(ID_BASE)),
        triple(license_, RDF_TYPE, node(DCTERMS.LicenseDocument)),
        triple(publisher, RDF_TYPE, node(FOAF.Agent)),
        triple(contact, RDF_TYPE, node(VCARD.Kind)),
        triple(endpoint, RDF_TYPE, node(DCAT.DataService)),
        triple(endpoint, DCAT.endpointURL, endpoint),
        # Any IRI is a resource; DCAT-AP's range shapes ask for it to be said.
        triple(endpoint, RDF_TYPE, node(str(RDFS.Resource))),
        triple(endpoint, DCAT.keyword, ox.Literal("SPARQL")),
        triple(endpoint, DCAT.endpointDescription, endpoint),  # GET /sparql: its description
        triple(endpoint, DCAT.servesDataset, dataset),
        triple(endpoint, DCTERMS.license, license_),
        triple(endpoint, DCTERMS.publisher, publisher),
        triple(endpoint, DCAT.contactPoint, contact),
        triple(endpoint, DCTERMS.conformsTo, node(SPARQL_PROTOCOL)),
        triple(node(SPARQL_PROTOCOL), RDF_TYPE, node(DCTERMS.Standard)),
    ]
    _labelled(triples, catalog, DCTERMS.title, _both("catalog_title_of", title="zigraph"))
    _labelled(triples, catalog, DCTERMS.description, _both("catalog_description"))
    _labelled(triples, dataset, DCTERMS.title, titles)
    _labelled(triples, dataset, DCTERMS.description, descriptions)
    _labelled(triples, endpoint, DCTERMS.title, _both("catalog_endpoint_title"))
    publisher_name = settings.publisher_name or _both("catalog_default_publisher", host=host)
    _labelled(triples, publisher, FOAF.name, publisher_name)
    if settings.publisher_url:
        triples.append(triple(publisher, FOAF.homepage, node(settings.publisher_url)))
        triples.append(triple(node(settings.publisher_url), RDF_TYPE, node(FOAF.Document)))
    _labelled(triples, contact, VCARD.fn, settings.contact_name or publisher_name)
    if settings.contact_email:
        triples.append(triple(contact, VCARD.hasEmail, node("mailto:" + settings.contact_email)))
    else:
        triples.append(triple(contact, VCARD.hasURL, home))
    for lang, words in keywords.items():
        for word in words:
            triples.append(triple(dataset, DCAT.keyword, ox.Literal(word, language=lang)))
    for tag in coverage["languages"]:
        language = node(language_iri(tag))
        triples += [
            triple(catalog, DCTERMS.language, language),
            triple(dataset, DCTERMS.language, language),
            triple(language, RDF_TYPE, node(DCTERMS.LinguisticSystem)),
        ]
    if modified:
        for subject in (catalog, dataset):
            triples.append(triple(subject, DCTERMS.modified, _timestamp(modified)))
    if issued:
        for subject in (catalog, dataset):
            triples.append(triple(subject, DCTERMS.issued, _timestamp(issued)))
    places = list(coverage["places"].items())[:LISTED_PLACES]
    spatial = [same[0] if same else place for place, same in places]
    spatial += _words(settings.dataset_spatial)
    for iri in dict.fromkeys(spatial):
        triples += [
            triple(catalog, DCTERMS.spatial, node(iri)),
            triple(dataset, DCTERMS.spatial, node(iri)),
            triple(node(iri), RDF_TYPE, node(DCTERMS.Location)),
        ]
    for place, same in places:
        if same:  # as the data says it: the item identifies the place named there
            triples.append(triple(node(place), SCHEMA.sameAs, node(same[0])))
    if coverage["years"]:
        first, last = coverage["years"]
        year = ox.NamedNode(str(XSD.gYear))
        triples += [
            triple(dataset, DCTERMS.temporal, period),
            triple(period, RDF_TYPE, node(DCTERMS.PeriodOfTime)),
            triple(period, DCAT.startDate, ox.Literal(f"{first:04d}", datatype=year)),
            triple(period, DCAT.endDate, ox.Literal(f"{last:04d}", datatype=year)),
        ]
    themes = [theme_iri(t) for t in _words(settings.dataset_themes)]
    if themes:
        scheme = node(f"{EU_AUTHORITY}data-theme")
        triples += [
            triple(catalog, DCAT.themeTaxonomy, scheme),
            triple(scheme, RDF_TYPE, node(SKOS.ConceptScheme)),
        ]
        _labelled(triples, scheme, DCTERMS.title, _both("catalog_data_themes"))
    for theme in themes:
        code = theme.rsplit("/", 1)[-1]
        triples += [
            triple(dataset, DCAT.theme, node(theme)),
            triple(endpoint, DCAT.theme, node(theme)),
            triple(node(theme), RDF_TYPE, node(SKOS.Concept)),
        ]
        if has_message(f"theme_{code}"):
            _labelled(triples, node(theme), SKOS.prefLabel, _both(f"theme_{code}"))
        else:
            triples.append(triple(node(theme), SKOS.prefLabel, ox.Literal(code)))
    for fmt in FORMATS.values():
        url = node(public_url("downloads.download", extension=fmt.extension))
        media_type = node(IANA_MEDIA_TYPES + fmt.media_type)
        file_type = node(f"{EU_AUTHORITY}file-type/{FILE_TYPES[fmt.name][0]}")
        triples += [
            triple(dataset, VOID.dataDump, url),
            triple(dataset, DCAT.distribution, url),
            triple(url, RDF_TYPE, node(DCAT.Distribution)),
            triple(url, DCAT.accessURL, url),
            triple(url, DCAT.downloadURL, url),
            triple(url, DCAT.mediaType, media_type),
            triple(url, DCTERMS.format, file_type),
            triple(url, DCTERMS.license, license_),
            triple(media_type, RDF_TYPE, node(DCTERMS.MediaType)),
            triple(file_type, RDF_TYPE, node(DCTERMS.MediaTypeOrExtent)),
        ]
        if modified:
            triples.append(triple(url, DCTERMS.modified, _timestamp(modified)))
        format_name = FILE_TYPES[fmt.name][1]
        _labelled(triples, url, DCTERMS.title, _both("catalog_dump_title", format=format_name))
        _labelled(
            triples, url, DCTERMS.description, _both("catalog_dump_description", format=format_name)
        )
    if with_statistics:
        triples += _void_statistics(dataset)
    return triples


def _void_statistics(dataset: ox.NamedNode) -> list[ox.Triple]:
    version, _ = served_version()
    stats = _statistics()
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
    version, modified = served_version()
    if "format" not in request.values and names_html_first(list(GRAPH_TYPES)):
        page = description_page(catalog_triples(with_statistics), with_statistics)
        response = Response(page, mimetype="text/html")
        return conditional(response, version, modified, f"{tag}-html-{get_language()}")
    negotiated = negotiate(graph_answer=True)
    body = serialize_triples(
        catalog_triples(with_statistics), negotiated.serialization, CATALOG_PREFIXES
    )
    response = Response(body, mimetype=negotiated.media_type)
    return conditional(response, version, modified, f"{tag}-{negotiated.serialization.name}")


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


@dataclass(frozen=True)
class Shown:
    """One value on a description page: its text, and where it links (None: plain text)."""

    text: str
    href: str | None = None
    external: bool = False


@dataclass
class Section:
    """One resource on a description page: its kind, name, IRI and statements."""

    kind: str
    anchor: str
    heading: str
    name: str
    iri: str
    rows: list[tuple[str, str, list[Shown]]] = field(default_factory=list)


def description_page(triples: list[ox.Triple], with_statistics: bool) -> str:
    """Render the catalogue or the VoID description as a page, in the reader's language."""
    lang = get_language()
    about: dict[str, list[ox.Triple]] = {}
    for t in triples:
        about.setdefault(term_value(t.subject), []).append(t)
    labels = Labels().fetch(
        {term_value(t.object) for t in triples if isinstance(t.object, ox.NamedNode)} | set(about)
    )

    def of_type(cls: str) -> list[str]:
        return sorted(
            term_value(t.subject)
            for t in triples
            if t.predicate.value == RDF_TYPE and term_value(t.object) == cls
        )

    place_of = {
        term_value(t.object): term_value(t.subject)
        for t in triples
        if t.predicate.value == str(SCHEMA.sameAs)
    }

    kinds = (
        *((i, "catalog") for i in of_type(str(DCAT.Catalog))),
        (DATASET_IRI, "dataset"),
        *((i, "service") for i in of_type(str(DCAT.DataService))),
        *((i, "agent") for i in of_type(str(FOAF.Agent))),
        *((i, "contact") for i in of_type(str(VCARD.Kind))),
    )
    anchors = {iri: f"{kind}-{n}" for n, (iri, kind) in enumerate(kinds, 1) if iri in about}
    periods = {
        iri: "–".join(
            term_value(t.object)
            for p in (DCAT.startDate, DCAT.endDate)
            for t in about[iri]
            if t.predicate.value == str(p)
        )
        for iri in of_type(str(DCTERMS.PeriodOfTime))
    }

    def shown(term: Term) -> Shown:
        if isinstance(term, ox.Literal):
            if term.datatype.value in DATED:
                return Shown(format_date(term.value[:10], lang))
            if term.datatype.value == XSD_INTEGER:
                return Shown(format_decimal(int(term.value), locale=lang))
            return Shown(term.value)
        iri = term_value(term)
        if iri.startswith(f"{EU_AUTHORITY}language/") or iri.startswith(ISO_639_1):
            tag = next((t for t, c in EU_LANGUAGES.items() if iri.endswith("/" + c)), None)
            tag = tag or iri.rsplit("/", 1)[-1]
            return Shown(Locale.parse(tag).get_display_name(lang) or tag, iri, True)
        if iri.startswith("mailto:"):
            return Shown(iri.removeprefix("mailto:"), iri)
        if iri in periods:
            return Shown(periods[iri])
        if iri in anchors:
            return Shown(_name(about[iri], lang) or compact(iri), "#" + anchors[iri])
        for base in (IANA_MEDIA_TYPES, f"{EU_AUTHORITY}file-type/"):
            if iri.startswith(base):
                return Shown(iri.removeprefix(base), iri, True)
        name = labels.get(place_of.get(iri, iri), lang)
        name = name or _name(about.get(iri, []), lang)
        link = link_for(iri)
        return Shown(name or compact(iri), link.href or iri, link.external)

    def section(iri: str, kind: str) -> Section:
        statements = about.get(iri, [])
        name = _name(statements, lang) or compact(iri)
        heading = translate_to(lang, SECTION_HEADINGS[kind])
        found = Section(kind, anchors.get(iri, ""), heading, name, iri)
        by_predicate: dict[str, list[ox.Triple]] = {}
        for t in statements:
            if t.predicate.value not in HIDDEN_ON_PAGE:
                by_predicate.setdefault(t.predicate.value, []).append(t)
        for predicate in sorted(by_predicate, key=display_rank):
            values = [shown(o) for o in _in_language(by_predicate[predicate], lang)]
            found.rows.append(
                (
                    labels.of_property(predicate, lang),
                    compact(predicate),
                    sorted(values, key=lambda v: v.text.casefold()),
                )
            )
        return found

    dataset = DATASET_IRI
    dumps = [section(iri, "distribution") for iri in of_type(str(DCAT.Distribution))]
    partitions: dict[str, list[tuple[Shown, str]]] = {"class": [], "property": []}
    if with_statistics:
        for kind, count_property in (("class", VOID.entities), ("property", VOID.triples)):
            link = str(VOID.classPartition if kind == "class" else VOID.propertyPartition)
            for t in about.get(dataset, []):
                if t.predicate.value != link:
                    continue
                facts = {s.predicate.value: s.object for s in about[term_value(t.object)]}
                named = facts[str(VOID[kind])]
                partitions[kind].append(
                    (
                        shown(named),
                        format_decimal(int(term_value(facts[str(count_property)])), locale=lang),
                    )
                )
            partitions[kind].sort(key=lambda row: row[0].text.casefold())
    sections = [section(iri, kind) for iri, kind in kinds if iri in about]
    endpoint = "descriptions.void" if with_statistics else "descriptions.catalog"
    return render_template(
        "pages/description.html",
        heading=translate_to(lang, "footer_void" if with_statistics else "footer_catalog"),
        intro=translate_to(lang, "void_intro" if with_statistics else "catalog_intro"),
        with_statistics=with_statistics,
        sections=sections,
        dumps=dumps,
        partitions=partitions,
        machine=[
            (FILE_TYPES[name][1], url_for(endpoint, format=name))
            for name in ("ttl", "jsonld", "xml", "nt")
        ],
    )


def _name(statements: list[ox.Triple], lang: str) -> str | None:
    """Return the title or name the statements give their subject, in the reader's language."""
    names = [t for t in statements if t.predicate.value in NAME_PREDICATES]
    return term_value(_in_language(names, lang)[0]) if names else None


def _in_language(statements: list[ox.Triple], lang: str) -> list[Term]:
    """Return the objects, only those in the reader's language when some literals are."""
    objects = [t.object for t in statements]
    tagged = [o for o in objects if isinstance(o, ox.Literal) and o.language]
    if not tagged:
        return objects
    mine = [o for o in tagged if o.language == lang]
    untagged = [o for o in objects if o not in tagged]
    return untagged + (mine or tagged)
