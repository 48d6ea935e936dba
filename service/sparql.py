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

import pyoxigraph as ox
from flask import Blueprint, Response, make_response, request, url_for
from werkzeug.exceptions import UnsupportedMediaType

from service.answer_cache import Answer, AnswerKey, get_answer_cache, not_modified
from service.descriptions import service_description
from service.errors import MissingQuery, QuerySyntaxError, UpdateRefused
from service.export import FORMATS, RdfSerialization, serialize_triples
from service.negotiation import Negotiated, negotiate, prefers_html
from service.pages.query import page as query_page
from service.queryparser import ParsedQuery
from service.querysafety import check_request
from service.results import ResultsSerialization, serialize_results
from service.security import CACHE_HEADER, LIMIT_HEADER, TRUNCATED_HEADER, allow_cross_origin
from service.settings import get_settings
from service.store import get_store
from service.store.reading import read_client_query

bp = Blueprint("sparql", __name__)
bp.after_request(allow_cross_origin)

SPARQL_VERSIONS = ("1.1", "1.2")  # values of the protocol's version parameter


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
    if prefers_html():  # a browser gets the query page, with the query and its answer
        response = make_response(query_page())
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
        response.make_conditional(request)  # updates the response in place (a 304, a range)
        return response
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
        response = not_modified()
    else:
        cache = get_answer_cache()
        cached = cache.get(key)
        if cached is not None:
            response = answer_response(cached, "hit")
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
    negotiated: Negotiated[ResultsSerialization | RdfSerialization],
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
    dump = url_for("downloads.download", extension=FORMATS["nq"].extension)
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
