"""The SPARQL 1.1 Protocol query operation at ``/sparql`` (read-only).

GET ``?query=``, POST form, or POST ``application/sparql-query``; ``default-graph-uri`` and
``named-graph-uri`` name the dataset. Answers are negotiated by ``Accept`` (q-values and
wildcards) or fixed by ``format=``. Without a query the endpoint describes itself (SPARQL
Service Description). Answers larger than ``RESULT_LIMIT`` are cut there and flagged with
the ``X-Zigraph-Result-Truncated: true`` header.

Answers from the embedded store are kept in the answer cache (``service.answer_cache``) and
carry a strong ETag of their key, ``Cache-Control: public, max-age=DUMP_MAX_AGE`` and
``X-Zigraph-Cache: hit`` or ``miss``; a GET whose ``If-None-Match`` holds that ETag is
answered 304 without evaluating the query. Answers from a remote store are never cached
(``miss``); their ETag is a hash of their bytes and caches must revalidate them (``no-cache``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.exceptions import UnsupportedMediaType

from service.answer_cache import Answer, AnswerKey, get_answer_cache
from service.errors import MissingQuery, NotAcceptable, QuerySyntaxError, UpdateRefused
from service.export import FORMATS, RDF_TYPE, RdfSerialization, serialize_triples
from service.namespaces import DATASET_IRI, SD
from service.negotiation import best_type, names_html_first
from service.queryparser import ParsedQuery
from service.querysafety import check_request
from service.results import RESULT_FORMATS, ResultsSerialization, serialize_results
from service.settings import get_settings
from service.store import get_store
from service.store.reading import read_client_query
from service.urls import public_url

bp = Blueprint("sparql", __name__)

W3C_FORMATS = "http://www.w3.org/ns/formats/"
TRUNCATED_HEADER = "X-Zigraph-Result-Truncated"
LIMIT_HEADER = "X-Zigraph-Result-Limit"
CACHE_HEADER = "X-Zigraph-Cache"
SPARQL_VERSIONS = ("1.1", "1.2")  # values of the protocol's version parameter

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


@dataclass(frozen=True)
class Negotiated:
    """The format chosen for an answer and the media type to label it with."""

    serialization: ResultsSerialization | RdfSerialization
    media_type: str


def allow_cross_origin(response: Response) -> Response:
    """Let any web page read the answer (no credentials), and answer CORS preflights."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = (
        f"{TRUNCATED_HEADER}, {LIMIT_HEADER}, {CACHE_HEADER}, ETag, Last-Modified, Link, "
        "Retry-After"
    )
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


bp.after_request(allow_cross_origin)


def _offered(kinds: dict[str, str], boolean: bool) -> dict[str, str]:
    if not boolean:
        return kinds
    return {t: n for t, n in kinds.items() if RESULT_FORMATS[n].holds_boolean}


def negotiate(graph_answer: bool, boolean: bool = False) -> Negotiated:
    """Choose the answer's format from ``format=`` or the Accept header, or raise NotAcceptable.

    :param graph_answer: the answer is RDF triples (CONSTRUCT, DESCRIBE, the description).
    :param boolean: the answer is an ASK result, which only JSON and XML can hold.
    """
    offered = GRAPH_TYPES if graph_answer else _offered(RESULT_TYPES, boolean)
    formats = FORMATS if graph_answer else RESULT_FORMATS
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


def read_query() -> str | None:
    """Return the query text of a protocol request, or None when it carries none."""
    if request.method == "POST":
        mimetype = request.mimetype
        if mimetype == "application/sparql-update":
            raise UpdateRefused("SPARQL updates are refused: this endpoint is read-only.")
        if mimetype == "application/sparql-query":
            data = request.get_data(cache=True)
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError as error:
                raise QuerySyntaxError(
                    f"The query body is not UTF-8 text (byte {error.start} is invalid)."
                ) from None
        if mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
            raise UnsupportedMediaType(
                "POST a query as application/sparql-query or as an "
                "application/x-www-form-urlencoded form."
            )
    if "update" in request.values:
        raise UpdateRefused("SPARQL updates are refused: this endpoint is read-only.")
    versions = request.values.getlist("version")
    if len(versions) > 1:
        raise QuerySyntaxError("The request gives the version parameter more than once.")
    if versions and versions[0] not in SPARQL_VERSIONS:
        raise QuerySyntaxError(
            f"version={versions[0][:20]!r} is not a version of SPARQL this endpoint reads; "
            f"give one of {', '.join(SPARQL_VERSIONS)}."
        )
    queries = request.values.getlist("query")
    if len(queries) > 1:
        raise QuerySyntaxError("The request holds more than one query; send exactly one.")
    if not queries:
        return None
    if not queries[0].strip():
        raise MissingQuery("The query parameter is empty.")
    return queries[0]


def _dataset_graphs(name: str) -> list[str]:
    iris = request.values.getlist(name)
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError:
            raise QuerySyntaxError(f"{name} must be an absolute IRI; got {iri!r}") from None
    return iris


@bp.route("/sparql", methods=["GET", "POST"])
def query() -> Response:
    """Answer a SPARQL query, or describe the service when there is none."""
    sparql = read_query()
    if prefers_html() and "query.page" in current_app.view_functions:
        response = current_app.make_response(current_app.view_functions["query.page"]())
        response.vary.add("Accept")  # other clients get SPARQL results from the same URL
        return response
    if sparql is None:
        if request.method == "POST":
            raise MissingQuery("The request holds no query.")
        return service_description()
    default_graphs = _dataset_graphs("default-graph-uri")
    named_graphs = _dataset_graphs("named-graph-uri")
    checked = read_client_query(sparql, request.remote_addr)
    check_request(checked, default_graphs, named_graphs, get_store().graphs)
    negotiated = negotiate(checked.returns_graph, boolean=checked.form == "ASK")
    version = get_store().fixed_version()
    if version is None:  # a remote store: evaluate every time, revalidate by the bytes
        answer = evaluate(checked, negotiated, default_graphs, named_graphs)
        response = answer_response(answer, "miss")
        response.set_etag(hashlib.sha256(answer.body).hexdigest()[:32])
        response.cache_control.public = True
        response.cache_control.no_cache = True
        return response.make_conditional(request)
    key = AnswerKey(
        version,
        get_settings().result_limit,
        sparql,
        tuple(default_graphs),
        tuple(named_graphs),
        negotiated.media_type,
    )
    etag = key.etag()
    if request.method in ("GET", "HEAD") and request.if_none_match.contains_weak(etag):
        response = Response(status=304, headers={CACHE_HEADER: "hit"})
        del response.headers["Content-Type"]
        response.vary.add("Accept")
    else:
        cache = get_answer_cache()
        answer = cache.get(key)
        if answer is not None:
            response = answer_response(answer, "hit")
        else:
            answer = evaluate(checked, negotiated, default_graphs, named_graphs)
            cache.put(key, answer)
            response = answer_response(answer, "miss")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = get_settings().answer_max_age
    return response


def evaluate(
    checked: ParsedQuery,
    negotiated: Negotiated,
    default_graphs: list[str],
    named_graphs: list[str],
) -> Answer:
    """Evaluate a client's checked query and serialize its answer in the negotiated format."""
    result = get_store().query(
        checked,
        default_graph_uris=default_graphs,
        named_graph_uris=named_graphs,
        client=request.remote_addr,
    )
    fmt = negotiated.serialization
    if isinstance(fmt, RdfSerialization):
        body = serialize_triples(result.triples, fmt)
    else:
        body = serialize_results(result, fmt)
    if not result.truncated:
        return Answer(body, negotiated.media_type)
    dump = url_for("dumps.download", extension=FORMATS["nq"].extension)
    link = (
        f'<{dump}>; rel="alternate"; type="{FORMATS["nq"].media_type}"; '
        'title="the answer was cut at the result limit; the whole dataset is here"'
    )
    limit = str(get_settings().result_limit)
    headers = ((TRUNCATED_HEADER, "true"), (LIMIT_HEADER, limit), ("Link", link))
    return Answer(body, negotiated.media_type, headers)


def answer_response(answer: Answer, state: str) -> Response:
    """Return the response carrying an answer; ``state`` is ``hit`` when it came from the cache."""
    response = Response(answer.body, mimetype=answer.media_type, headers=list(answer.headers))
    response.headers[CACHE_HEADER] = state
    response.vary.add("Accept")
    return response


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
