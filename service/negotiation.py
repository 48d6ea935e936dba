"""One content negotiator for the whole service: which representation a request gets.

The SPARQL endpoint, the pages and the error answers all ask this module, so that a client
sending the same ``Accept`` header gets the same kind of answer everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, request

from service.errors import NotAcceptable
from service.export import FORMATS, RdfSerialization, serialize_triples

HTML_TYPES = ("text/html", "application/xhtml+xml")
JSON_TYPES = (
    "application/json",
    "application/sparql-results+json",
    "application/ld+json",
    "application/problem+json",
)
TEXT_TYPES = ("text/plain", "text/csv", "text/tab-separated-values")

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
    """Return the RDF format a document's client prefers, None for HTML; raise when neither fits."""
    offered = [*HTML_TYPES, *(f.media_type for f in RDF_SUFFIXES.values())]
    best = best_type(offered, default="text/html")
    if best is None:
        raise NotAcceptable(
            "None of the media types in the Accept header can hold this document.",
            offered=offered,
        )
    if best in HTML_TYPES:
        return None
    return next(f for f in RDF_SUFFIXES.values() if f.media_type == best)


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
