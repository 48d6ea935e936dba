"""One content negotiator for the whole service: which representation a request gets.

The SPARQL endpoint, the pages and the error answers all ask this module, so that a client
sending the same ``Accept`` header gets the same kind of answer everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, overload

from flask import Response, request

from service.errors import NotAcceptable
from service.export import FORMATS, RdfSerialization, serialize_triples
from service.results import RESULT_FORMATS, ResultsSerialization

HTML_TYPES = ("text/html", "application/xhtml+xml")
JSON_TYPES = (
    "application/json",
    "application/sparql-results+json",
    "application/ld+json",
    "application/problem+json",
)
TEXT_TYPES = ("text/plain", "text/csv", "text/tab-separated-values")

# Media types offered for each kind of answer, in order of preference on a tie.
RESULT_TYPES: dict[str, str] = {
    **{f.media_type: f.name for f in RESULT_FORMATS.values()},
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
}
GRAPH_TYPES: dict[str, str] = {
    **{f.media_type: f.name for f in FORMATS.values()},
    "application/json": "jsonld",
    "application/xml": "xml",
    "text/plain": "nt",
}
# ``format=`` names beyond the formats' own short names.
FORMAT_ALIASES = {
    "turtle": "ttl",
    "n3": "ttl",
    "rdf": "xml",
    "rdf+xml": "xml",
    "json-ld": "jsonld",
    "ntriples": "nt",
}


Chosen = TypeVar("Chosen", bound=ResultsSerialization | RdfSerialization, covariant=True)
Format = TypeVar("Format", bound=ResultsSerialization | RdfSerialization)


@dataclass(frozen=True)
class Negotiated(Generic[Chosen]):
    """The format chosen for an answer and the media type to label it with."""

    serialization: Chosen
    media_type: str


# The RDF a document (an entity, the ontology, the shapes, the report) offers, by file suffix.
RDF_SUFFIXES: dict[str, RdfSerialization] = {
    "ttl": FORMATS["ttl"],
    "jsonld": FORMATS["jsonld"],
    "nt": FORMATS["nt"],
    "rdf": FORMATS["xml"],
}


def best_type(offered: Sequence[str], default: str | None = None) -> str | None:
    """Return the offered media type the client ranks highest, or None when none fits.

    :param default: what a request without ``Accept`` gets (the first offer when not given).
    """
    accept = request.accept_mimetypes
    if not accept.provided:
        return default if default is not None else offered[0]
    return accept.best_match(list(offered))


def html_or_rdf() -> RdfSerialization | None:
    """Return the RDF format a document's client prefers, None for HTML; raise when neither fits.

    A document offers HTML first, then every RDF type an answer of the SPARQL endpoint
    offers (``GRAPH_TYPES``), so one ``Accept`` header gets the same kind of answer from both.
    """
    offered = [*HTML_TYPES, *GRAPH_TYPES]
    best = best_type(offered, default="text/html")
    if best is None:
        raise NotAcceptable(
            "None of the media types in the Accept header can hold this document.",
            offered=offered,
        )
    if best in HTML_TYPES:
        return None
    return FORMATS[GRAPH_TYPES[best]]


def names_html_first(machine_types: Sequence[str]) -> bool:
    """Return whether the client (a browser) names text/html and ranks it above the others."""
    accept = request.accept_mimetypes
    if "text/html" not in accept.values():
        return False
    return accept["text/html"] > max(accept[t] for t in machine_types)


def error_format() -> str:
    """Return "json", "text" or "html": what the current client reads an error in best."""
    accept = request.accept_mimetypes
    if not accept.provided:
        return "json"
    json_q = max(accept[t] for t in JSON_TYPES)
    html_q = max(accept[t] for t in HTML_TYPES)
    text_q = max(accept[t] for t in TEXT_TYPES)
    # Wildcards match everything equally; a browser names text/html explicitly.
    if html_q > json_q and html_q >= text_q and "text/html" in accept.values():
        return "html"
    if text_q > json_q:
        return "text"
    return "json"


def rdf_response(
    triples, fmt: RdfSerialization, prefixes: dict[str, str] | None = None
) -> Response:
    """Return triples serialized in ``fmt`` as the response body, varying on Accept."""
    charset = "" if fmt.media_type == "application/n-triples" else "; charset=utf-8"
    response = Response(
        serialize_triples(triples, fmt, prefixes), content_type=fmt.media_type + charset
    )
    response.vary.add("Accept")
    return response


def _offered(kinds: dict[str, str], boolean: bool) -> dict[str, str]:
    if not boolean:
        return kinds
    return {t: n for t, n in kinds.items() if RESULT_FORMATS[n].holds_boolean}


@overload
def negotiate(
    graph_answer: Literal[True], boolean: bool = False
) -> Negotiated[RdfSerialization]: ...
@overload
def negotiate(
    graph_answer: bool, boolean: bool = False
) -> Negotiated[ResultsSerialization | RdfSerialization]: ...
def negotiate(
    graph_answer: bool, boolean: bool = False
) -> Negotiated[ResultsSerialization | RdfSerialization]:
    """Choose the answer's format from ``format=`` or the Accept header, or raise NotAcceptable.

    :param graph_answer: the answer is RDF triples (CONSTRUCT, DESCRIBE, the description).
    :param boolean: the answer is an ASK result, which only JSON and XML can hold.
    """
    if graph_answer:
        return _choose(GRAPH_TYPES, FORMATS)
    return _choose(_offered(RESULT_TYPES, boolean), RESULT_FORMATS)


def _choose(offered: dict[str, str], formats: dict[str, Format]) -> Negotiated[Format]:
    requested = request.values.get("format")
    if requested:
        name = FORMAT_ALIASES.get(requested.lower(), requested.lower())
        if name in offered:  # a media type given as format=
            name = offered[name]
        if name in formats and name in offered.values():
            fmt = formats[name]
            return Negotiated(fmt, fmt.media_type)
        names = sorted({n for n in offered.values()})
        raise NotAcceptable(
            f"format={requested!r} cannot hold this answer; choose one of {', '.join(names)}",
            offered=names,
        )
    best = best_type(list(offered))
    if best is None:
        raise NotAcceptable(
            "None of the media types in the Accept header can hold this answer.",
            offered=list(offered),
        )
    return Negotiated(formats[offered[best]], best)


def prefers_html() -> bool:
    """Return whether the client (a browser) ranks text/html above every SPARQL format."""
    return "format" not in request.values and names_html_first((*RESULT_TYPES, *GRAPH_TYPES))
