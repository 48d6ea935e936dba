"""The remote backend: any SPARQL 1.1 query endpoint, asked over kept-alive HTTP connections.

Tested against the Oxigraph server and Virtuoso 7.2. Every query is sent with its dataset as
protocol parameters (``default-graph-uri``, ``named-graph-uri``): the graphs the request or
the query's FROM clauses name, otherwise every graph zigraph pushed. So the store's own
default graph never matters (Oxigraph's ``--union-default-graph``, Virtuoso's system graphs),
and FROM works on the Oxigraph server, which lets its union default graph win over FROM.
Past MANY_GRAPHS graphs, a dataset that long is slow to send and to answer; Virtuoso is then
told which graphs to leave out, and both engines are sent no dataset at all for a query that
cannot match a triple of the store's other graphs (:class:`Holdings`).

Answers are read into the same :class:`QueryResult` the embedded store gives; what the
engines spell differently is read back as the embedded store spells it (Virtuoso's ASK
table, its ``nodeID://`` blank nodes, its 0/1 booleans). The time limit is passed to the
store (Virtuoso's ``timeout`` parameter; the Oxigraph server has its own ``--timeout-s``),
and a store that stops a query at its limit answers 503, with the store's own words.

Clients' queries get the limits the embedded store's evaluators have (``Admission``): a few
requests to the store at a time, a short queue (503 past it) and a bound per client address
(429). The service's own queries (pages, health, dumps) take no client slot, so they never
wait behind a client's; the web threads that make them bound them.

What a client is told of a failure names "the SPARQL store", never its address, and never
quotes the query text the store echoes; the log has the address and the store's whole answer.
"""

from __future__ import annotations

import hashlib
import html
import http.client
import json
import logging
import netrc
import re
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from typing import IO, NamedTuple
from urllib.parse import urlencode, urlsplit, urlunsplit

import certifi
import pyoxigraph as ox
import requests
import urllib3
from cachetools import LRUCache, TTLCache
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from service import statistics
from service.dataset import has_blank_node, name_blank_nodes
from service.errors import BackendError, BackendUnavailable, QueryTimeout, ZigraphError
from service.export import RdfSerialization, write_dataset
from service.namespaces import GRAPH_BASE
from service.queryparser import ParsedQuery, parse_query
from service.reach import FROM_DATA, Reach
from service.store.admission import Admission
from service.store.base import (
    QueryResult,
    expect,
    expected,
    keep_prefetched,
    prefetched,
    request_deadline,
)
from service.store.evaluator import EvaluatorPool
from service.terms import Term, term_value

log = logging.getLogger(__name__)

# Virtuoso echoes each default-graph-uri of a request as an X-SPARQL-default-graph header, and
# http.client refuses an answer with more than 100 headers: a dataset of 3,240 graphs got no
# answer at all. The limit is a module setting of the standard library, read at each answer.
http.client._MAXHEADERS = max(http.client._MAXHEADERS, 100_000)  # type: ignore[attr-defined]

RESULTS_JSON = "application/sparql-results+json"
RESULTS_XML = "application/sparql-results+xml"
# Virtuoso writes JSON results slowly: at a million triples an entity document's 2,500 rows of
# provenance took 215 ms as JSON, 51 ms as XML by hand (24 ms as its TSV, which is not SPARQL's: its
# variables and literals are written as in CSV). So Virtuoso is asked for XML, JSON the fallback.
RESULTS_XML_FIRST = f"{RESULTS_XML}, {RESULTS_JSON};q=0.9"
N_TRIPLES = "application/n-triples"
PASSWORD_VARIABLE = "ZIGRAPH_STORE_PASSWORD"
METADATA_SECONDS = 30.0  # how long the record (or the store's counts) is reused
BULK_TIMEOUT = 120.0
PAGE_ROWS = 10000  # rows per page of a graph read for a dump (Virtuoso's default row cap)
RECENT_QUERIES = 256  # kept in RemoteBackend.sent
CONNECTIONS = 16  # kept-alive connections per web process
MAX_ANSWER_BYTES = 32 * 1024 * 1024  # read of one answer; the rest is cut, as past the row limit
STORE_SHARE = 0.9  # of the time limit, given to the store as its own limit
GRACE_SECONDS = 2.0  # past the limit, for the store's answer that it stopped the query
XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_BOOLEAN = XSD + "boolean"
XSD_BOOLEAN_IRI = ox.NamedNode(XSD_BOOLEAN)
XSD_INTEGER = XSD + "integer"
# A graph no store holds: names an empty dataset part, which the protocol cannot leave empty.
NO_GRAPH = GRAPH_BASE + "none"
VIRTUOSO_ASK = "__ASK_RETVAL"
# What a store says when it stopped a query at its own time limit.
# (Virtuoso: "SR171: Transaction timed out"; the Oxigraph server ends a streamed answer with
# "The SPARQL operation has been cancelled"). Narrow: Virtuoso echoes the query in its errors.
TIMEOUT_WORDS = re.compile(r"\bS(?:R171|1T00|1TAT)\b|timed out|has been cancell?ed")
BLANK_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
GRAPH_COUNTS = (
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
    f'FILTER(STRSTARTS(STR(?g), "{GRAPH_BASE}")) }} GROUP BY ?g'
)
# Every graph of the store with its quads: Virtuoso answers it from an index (0.3 s at a
# million triples), where a FILTER on the graph's IRI makes it read every quad (4.9 s).
# (0.3 s on the Oxigraph server.)
STORE_GRAPHS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
# On the Oxigraph server, asked on its union default graph: every quad, its default graph's
# too (0.17 s at a million triples).
UNION_TOTAL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
# Stores answer a dataset of many graphs slowly: at a million triples in 3,240 graphs, an
# ASK to Virtuoso with each as a default-graph-uri took 4 s and a COUNT more than 15 s, against
# 10 ms with no dataset; the Oxigraph server took 70-150 ms for a lookup it answers in 3-6 ms
# on its union default graph (it looks each graph up in turn, and the form is 6,480 IRIs).
# Past this many graphs, zigraph's are named to Virtuoso as every graph of the store but the
# others, with its pragmas (``DEFINE input:default-graph-exclude``).
MANY_GRAPHS = 50
# Each such pragma costs Virtuoso a test of every quad's graph, and a worse plan: the bench's
# aggregate took 12.4 ms with the four of a million triples against 5.4 ms without. So a query
# whose patterns cannot match a triple of the other graphs (ParsedQuery.reach against their
# Holdings, read with OTHER_TERMS) goes without them, on every graph of the store; to the
# Oxigraph server, on its union default graph (``union-default-graph``). Any other keeps the
# pragmas, and to the Oxigraph server the dataset of every graph.
# Read only when the other graphs hold at most this many quads (Virtuoso's own: about 4,400;
# the record: a few hundred), in at most the query time limit.
OTHER_REACH_QUADS = 100_000
OTHER_TERMS = (
    "SELECT DISTINCT ?t WHERE {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ {pattern} }} "
    "FILTER(isIRI(?t)) }}"
)
OTHER_PATTERNS = ("?t ?p ?o", "?s ?t ?o", "?s ?p ?t")  # subjects, predicates, objects
# Whether the other graphs' subjects are apart from zigraph's triples (Holdings.apart): none a
# blank node, none a term of a triple of another graph. Asked of at most this many subjects.
OTHER_BLANK_SUBJECTS = (
    "ASK {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s ?p ?o FILTER(isBlank(?s)) }} }}"
)
OTHER_SUBJECTS_NAMED = (
    "ASK {{ VALUES ?t {{ {subjects} }} GRAPH ?g {{ {{ ?t ?p ?o }} UNION {{ ?s ?t ?o }} "
    "UNION {{ ?s ?p ?t }} }} FILTER(?g NOT IN ({graphs})) }}"
)
APART_SUBJECTS = 1000
IRI_WRITABLE = re.compile(r'[^\x00-\x20<>"{}|^`\\]+')  # an IRIREF's characters (SPARQL 1.1)
GRAPH_PAGE = (
    "SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} LIMIT {limit} OFFSET {offset}"
)
# The record `zigraph push` writes last, beside the graphs (docs/remote-stores.md): outside
# GRAPH_BASE, so that it is never one of the graphs served. Its literals hold JSON.
RECORD_GRAPH = "https://w3id.org/zigraph/record/dataset"
RECORD_TERMS = "https://w3id.org/zigraph/record#"
RECORD_PARTS = {
    part: RECORD_TERMS + part for part in ("metadata", "statistics", "report", "search", "classes")
}
# Each part is written in numbered pieces ("000001 …"), one literal each: Virtuoso's Graph
# Store refuses a body past about 64 KB holding a line of 30 KB ("unsupported type
# text/plain"; lines of 16 KB passed, and a body of 64 KB or less whatever its lines), and a
# million triples' record is 365 KB.
RECORD_PIECE = 4_000  # characters
# The members of each large class the record holds, at either end by IRI (its "classes"):
# the Oxigraph server sorts a class of a million triples' in 0.7-0.9 s for a page of it.
RECORD_CLASS_MEMBERS = 100
# The dataset of every graph zigraph serves, as given to RemoteBackend._post.
ZIGRAPH_GRAPHS: list[str] = []


class Holdings(NamedTuple):
    """What the triples of the store's other graphs hold: the IRIs of their subjects, their
    predicates and the IRIs of their objects, each None when not read (any); and whether
    their subjects are ``apart`` from zigraph's triples (no blank node, no term of those)."""

    subjects: frozenset[str] | None
    predicates: frozenset[str] | None
    objects: frozenset[str] | None
    apart: bool = False

    def reached_by(self, reach: Reach) -> bool:
        """Return whether a query of ``reach`` (ParsedQuery.reach) may match one of the
        triples: a shape each of whose IRIs is among those held at its place, and whose
        subject, when FROM_DATA (a term of zigraph's triples), may be one of theirs."""
        if reach is None:
            return True
        places = (self.subjects, self.predicates, self.objects)
        return any(
            (shape[0] != FROM_DATA or not self.apart)
            and all(
                not term or term == FROM_DATA or held is None or term in held
                for term, held in zip(shape, places, strict=True)
            )
            for shape in reach
        )


class Census(NamedTuple):
    """The store's named graphs with their quads, its quads in all (the Oxigraph server's
    default graph's too), and whether its list of graphs came whole (not cut at its row
    limit)."""

    sizes: tuple[tuple[str, int], ...]
    total: int
    whole: bool


class SentQuery(str):
    """A query as sent to the store (RemoteBackend.sent), with ``union``: whether on the
    Oxigraph server's union default graph."""

    union = False


class StoreDataset(NamedTuple):
    """How a query is sent on zigraph's graphs: pragmas before it, its dataset, and whether
    on the Oxigraph server's union default graph."""

    pragmas: str = ""
    default: list[str] = []
    named: list[str] = []
    union: bool = False


def record_pieces(text: str) -> list[str]:
    """Return a record part as numbered pieces, each at most RECORD_PIECE characters of it."""
    return [
        f"{number:06d} {text[start : start + RECORD_PIECE]}"
        for number, start in enumerate(range(0, max(len(text), 1), RECORD_PIECE), start=1)
    ]


def record_text(pieces: list[str]) -> str:
    """Return a record part from its pieces in any order (or a record written whole)."""
    numbered = [p for p in pieces if len(p) > 6 and p[:6].isdigit() and p[6] == " "]
    if len(numbered) != len(pieces):
        return pieces[0] if pieces else ""
    return "".join(p[7:] for p in sorted(numbered, key=lambda p: p[:6]))


class StoreAnswer(NamedTuple):
    """What a store answered: the bytes read, its headers, and whether reading stopped early."""

    body: bytes
    headers: Mapping[str, str]
    cut: bool


class StoreAuth(AuthBase):
    """Answer the store's challenge, Digest (Virtuoso's ``-auth`` endpoints) or Basic."""

    def __init__(self, user: str, password: str) -> None:
        self.digest = HTTPDigestAuth(user, password)
        self.basic = HTTPBasicAuth(user, password)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request = self.digest(request)  # answers a Digest challenge, lets others through
        request.register_hook("response", self._answer_basic)
        return request

    def _answer_basic(self, response: requests.Response, **kwargs) -> requests.Response:
        challenge = response.headers.get("WWW-Authenticate", "").lower()
        if response.status_code != 401 or not challenge.startswith("basic"):
            return response
        response.content  # noqa: B018 - read the body so the connection can be reused
        response.close()
        retry = self.basic(response.request.copy())
        if hasattr(retry.body, "seek"):  # a file sent (zigraph push): send it again whole
            retry.body.seek(0)
        answer = response.connection.send(retry, **kwargs)
        answer.history.append(response)
        answer.request = retry
        return answer


def credentials(url: str, user: str | None, password: str | None = None) -> tuple[str, str] | None:
    """Return the user and password for a store: the password given (the setting
    ``store_password``) or from netrc.

    A ``user:password@`` in the URL is honoured too, and never shown (see :func:`shown_url`).
    """
    parts = urlsplit(url)
    if parts.username and not user:
        return parts.username, parts.password or password or ""
    if user and password is not None:
        return user, password
    try:
        entry = netrc.netrc().authenticators(parts.hostname or "")
    except (OSError, netrc.NetrcParseError):
        entry = None
    if entry is not None and (user is None or entry[0] == user):
        return entry[0], entry[2] or ""
    if user:
        raise BackendUnavailable(
            f"no password for {user} at {shown_url(url)}: set {PASSWORD_VARIABLE} "
            "or add the host to your ~/.netrc"
        )
    return None


def shown_url(url: str) -> str:
    """Return a URL without its user and password, fit to print."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def store_session(
    url: str, user: str | None = None, password: str | None = None
) -> requests.Session:
    """Return an HTTP session for a store: kept-alive connections and its credentials."""
    session = requests.Session()
    session.trust_env = False  # no proxy variables, no netrc Basic auth behind our back
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=CONNECTIONS)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    found = credentials(url, user, password)
    if found is not None:
        session.auth = StoreAuth(*found)
    return session


class RemoteBackend:
    """Query a remote SPARQL 1.1 endpoint."""

    def __init__(
        self,
        endpoint: str,
        result_limit: int | None = None,
        timeout: float = 10.0,
        user: str | None = None,
        password: str | None = None,
        isolation: str = "none",
        readers: int = 2,
        queries_per_client: int | None = None,
        memory_mb: int | None = None,
        client_requests: int = 3,
    ):
        """Open a backend over ``endpoint``.

        :param client_requests: clients' queries sent to the store at once; twice as many
            more may wait for a place (503 past them).
        :param queries_per_client: queries one client address may have running or waiting.
        """
        self.endpoint = shown_url(endpoint)
        self.location = self.endpoint
        self.name = "remote"
        self.engine = ""  # the store's Server header, once it has answered
        self.result_limit = result_limit
        self.timeout = timeout
        self._url = self.endpoint
        # A store that asks for credentials is asked through requests, which answers its
        # Digest or Basic challenge; one that does not, through urllib3 directly (by hand,
        # requests cost 0.3 ms more a query against a local Oxigraph server, 0.7-1.3 ms more
        # against Virtuoso).
        self._session = store_session(endpoint, user, password)
        self._connections = (
            None
            if self._session.auth is not None
            else urllib3.PoolManager(maxsize=CONNECTIONS, retries=False, ca_certs=certifi.where())
        )
        self.client_lane = Admission(
            client_requests,
            waiting=2 * client_requests,
            per_client=queries_per_client,
            slot_name="place for clients' queries at the SPARQL store",
        )
        self._cache: TTLCache = TTLCache(maxsize=8, ttl=METADATA_SECONDS)
        self._cache_lock = threading.Lock()
        # One lock per entry: counting the statistics never holds up the record.
        self._building = {
            key: threading.Lock()
            for key in ("record", "record part", "counts", "statistics", "others", "census")
        }
        self._record_parts: dict[tuple[str, str | None], str | None] = {}
        self._class_ends: tuple[str, dict] | None = None  # the record's "classes", read
        self._counted: tuple[str, dict] | None = None  # statistics counted without a record
        # Past MANY_GRAPHS: the store's graphs that are not zigraph's, for the record's version
        # and the store's census they were read at, with what they hold (None unread).
        self._others: tuple[str | None, Census, tuple[str, ...] | None, Holdings | None] | None = (
            None
        )
        # The store's graphs and quads and when they were counted; whether they are being
        # counted again.
        self._census: tuple[float, Census] | None = None
        self._counting = False
        self._warned = False  # that the store holds no record
        # Processes that read long client queries (no store, no network), started on first use.
        self._readers = EvaluatorPool(
            None,
            size=readers,
            isolation=isolation,
            memory_mb=memory_mb,
            waiting=2 * readers,
            per_client=queries_per_client,
        )
        self._service_readings: LRUCache = LRUCache(maxsize=512)
        # The last queries sent to the store, newest last: what a test or a debugger asks.
        self.sent: deque[SentQuery] = deque(maxlen=RECENT_QUERIES)
        self._service_readings_lock = threading.Lock()

    def prefetch(self, texts: list[str]) -> None:
        """Keep the answers to the service's queries ``texts`` for this request, once asked.

        A SPARQL endpoint takes one query a request, so nothing is sent ahead (the embedded
        store sends such queries to its evaluator in one call); each is sent the first time
        it is asked and answered from that afterwards, as parts of one page ask some twice.
        """
        expect(texts)

    def reading_pool(self) -> EvaluatorPool:
        """Return the processes that read long client queries."""
        return self._readers

    def _reading(self, query: ParsedQuery | str) -> ParsedQuery:
        """Return a query as read: a client's already is; the service's own is read here."""
        if isinstance(query, ParsedQuery):
            return query
        with self._service_readings_lock:
            reading = self._service_readings.get(query)
        if reading is None:
            reading = parse_query(query, check=False)
            with self._service_readings_lock:
                self._service_readings[query] = reading
        return reading

    # --- asking ---------------------------------------------------------------------------

    def _post(
        self,
        sparql: str,
        accept: str,
        timeout: float,
        default_graph_uris: list[str] | None = None,
        named_graph_uris: list[str] | None = None,
        max_bytes: int | None = None,
        refusal_expected: bool = False,
        reach: Reach = None,
        union: bool = False,
    ) -> StoreAnswer:
        """Send a query and return the store's answer, or raise a domain error.

        :param default_graph_uris: the dataset; ``None`` for both it and ``named_graph_uris``
            sends none (the store's own dataset), :data:`ZIGRAPH_GRAPHS` zigraph's graphs.
        :param max_bytes: read no more of the answer; the connection is closed, so a store
            that streams its answer stops there.
        :param refusal_expected: log a failure at debug level only, not as a warning.
        :param reach: the triples the query can match (ParsedQuery.reach).
        :param union: ask the Oxigraph server on its union default graph (no dataset).
        """
        level = logging.DEBUG if refusal_expected else logging.WARNING
        if default_graph_uris is ZIGRAPH_GRAPHS:
            dataset = self._zigraph_graphs(reach)
            sparql = dataset.pragmas + sparql
            default_graph_uris, named_graph_uris = dataset.default, dataset.named
            union = dataset.union
        sent = SentQuery(sparql)
        sent.union = union
        self.sent.append(sent)
        form = {
            "query": sparql,
            "default-graph-uri": default_graph_uris or [],
            "named-graph-uri": named_graph_uris or [],
            # Virtuoso stops the query there, a little early so that its answer saying so
            # arrives before zigraph stops waiting; other stores ignore the parameter.
            "timeout": str(int(timeout * STORE_SHARE * 1000)),
        }
        if union:
            form["union-default-graph"] = ""
        try:
            status_code, reason, headers, body, cut = self._send(form, accept, timeout, max_bytes)
        except StoreTimeout:
            log.log(
                level, "the SPARQL store at %s gave no answer in %.3g s", self.endpoint, timeout
            )
            raise QueryTimeout(f"the SPARQL store gave no answer within {timeout:.3g} s") from None
        except StoreUnreachable as error:
            cause = error.__cause__ or error
            log.log(level, "the SPARQL store at %s cannot be reached: %s", self.endpoint, cause)
            raise BackendUnavailable(
                f"the SPARQL store cannot be reached ({_reason(cause)})"
            ) from None
        self.engine = headers.get("Server", self.engine).strip()
        if headers.get("X-SQL-State") == "S1TAT":  # Virtuoso's "anytime" partial answer
            raise self._timeout(headers.get("X-SQL-Message", "S1TAT"))
        if 300 <= status_code < 400:  # neither client follows it: a POST is not to be resent
            log.log(
                level,
                "the SPARQL store at %s redirects to %s",
                self.endpoint,
                headers.get("Location", "nowhere"),
            )
            raise BackendUnavailable(
                f"the SPARQL store answered {status_code} {reason}: it redirects elsewhere; "
                "set the endpoint to where it leads"
            )
        if status_code >= 400:
            message = body[:2000].decode("utf-8", "replace").strip()
            status = f"{status_code} {reason}"
            log.log(level, "the SPARQL store at %s answered %s: %s", self.endpoint, status, message)
            if TIMEOUT_WORDS.search(message):
                raise self._timeout(message)
            if status_code in (401, 403):
                raise BackendUnavailable(
                    f"the SPARQL store refused zigraph's credentials ({status_code}); "
                    f"see ZIGRAPH_STORE_USER and {PASSWORD_VARIABLE}"
                )
            raise BackendError(f"the SPARQL store answered {status}: {_store_words(message)}")
        return StoreAnswer(body, headers, cut)

    def _send(
        self, form: dict, accept: str, timeout: float, max_bytes: int | None
    ) -> tuple[int, str, Mapping[str, str], bytes, bool]:
        """POST the form to the store; return its status, reason, headers, the body read and
        whether the body was cut at ``max_bytes`` (the connection is then closed).

        Raises StoreTimeout when no answer came in time (the whole answer is due within
        ``timeout`` and a grace, however slowly it trickles in) and StoreUnreachable when the
        connection failed, the library's error as its cause.
        """
        deadline = time.monotonic() + timeout + GRACE_SECONDS
        connect, read = min(timeout, 5.0), timeout + GRACE_SECONDS
        headers = {"Accept": accept}
        if self._connections is None:
            try:
                with self._session.post(
                    self._url,
                    data=form,
                    headers=headers,
                    timeout=(connect, read),
                    stream=True,
                    allow_redirects=False,
                ) as response:
                    body, cut = _read_until(response.iter_content(64 * 1024), max_bytes, deadline)
                    return response.status_code, response.reason, response.headers, body, cut
            except requests.Timeout:
                raise StoreTimeout() from None
            except requests.RequestException as error:
                raise StoreUnreachable() from error
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            answer = self._connections.urlopen(
                "POST",
                self._url,
                body=urlencode(form, doseq=True),
                headers=headers,
                timeout=urllib3.Timeout(connect=connect, read=read),
                preload_content=False,
            )
            whole = False
            try:
                body, cut = _read_until(answer.stream(64 * 1024), max_bytes, deadline)
                whole = not cut
            finally:
                if not whole:  # cut short or failed: the connection is not to be used again
                    answer.close()
                answer.release_conn()
        except urllib3.exceptions.NewConnectionError as error:  # a ConnectTimeoutError too
            raise StoreUnreachable() from error
        except urllib3.exceptions.TimeoutError:
            raise StoreTimeout() from None
        except urllib3.exceptions.HTTPError as error:
            raise StoreUnreachable() from error
        return answer.status, answer.reason or "", answer.headers, body, cut

    def probe(self, sparql: str, timeout: float | None = None) -> StoreAnswer:
        """Send one of the service's own probes as written, with no dataset; return the answer.

        A refusal is expected (a store refuses what it does not do): it is logged at debug level.
        """
        return self._post(sparql, RESULTS_JSON, timeout or self.timeout, refusal_expected=True)

    def _timeout(self, message: str) -> QueryTimeout:
        return QueryTimeout(
            f"the SPARQL store stopped the query at its time limit ({_store_words(message)})"
        )

    def _dataset(
        self, sparql_from: tuple[tuple[str, ...], tuple[str, ...]], default: list, named: list
    ) -> tuple[list[str], list[str]]:
        """Return the dataset to send: the request's, the query's FROM graphs, or zigraph's
        (:data:`ZIGRAPH_GRAPHS`, named by :meth:`_zigraph_graphs` when sent)."""
        if default or named:
            return list(default) or [NO_GRAPH], list(named) or self.graphs() or [NO_GRAPH]
        from_graphs, from_named = sparql_from
        if from_graphs or from_named:
            return list(from_graphs) or [NO_GRAPH], list(from_named) or [NO_GRAPH]
        return ZIGRAPH_GRAPHS, ZIGRAPH_GRAPHS

    def _zigraph_graphs(self, reach: Reach = None) -> StoreDataset:
        """Return how to send a query of ``reach`` (as ParsedQuery.reach says) on zigraph's
        graphs.

        Each graph as a ``default-graph-uri`` and a ``named-graph-uri``. Past MANY_GRAPHS of
        them, when the query cannot match a triple of the store's other graphs (the record,
        a store's own, any loaded by other means): no dataset, on every graph of the store
        (Virtuoso) or its union default graph (the Oxigraph server). On Virtuoso otherwise, no
        dataset and pragmas that exclude each other graph, when their IRIs can be written in
        a query.
        """
        graphs = self.graphs() or [NO_GRAPH]
        virtuoso = self.engine.startswith("Virtuoso")
        if len(graphs) > MANY_GRAPHS and (virtuoso or self.engine.startswith("Oxigraph")):
            others, holdings = self._other_graphs(graphs)
            if holdings is not None and not holdings.reached_by(reach):
                return StoreDataset(union=not virtuoso)
            if others is not None and virtuoso:
                pragmas = "".join(
                    f"DEFINE input:default-graph-exclude <{graph}>\n"
                    f"DEFINE input:named-graph-exclude <{graph}>\n"
                    for graph in others
                )
                return StoreDataset(pragmas)
        return StoreDataset(default=graphs, named=graphs)

    def _read_holdings(self, graphs: tuple[str, ...]) -> Holdings:
        """Return what the triples of ``graphs`` hold; a part whose answer was cut or failed
        is None."""
        if not graphs:
            return Holdings(frozenset(), frozenset(), frozenset(), apart=True)
        named = " ".join(f"<{graph}>" for graph in graphs)
        parts: list[frozenset[str] | None] = []
        for pattern in OTHER_PATTERNS:
            query = OTHER_TERMS.format(graphs=named, pattern=pattern)
            try:
                answer = self._post(query, self._results_type(), self.timeout)
            except ZigraphError as error:
                log.warning("could not read what the store's other graphs hold: %s", error)
                parts.append(None)
                continue
            if answer.cut or "X-SPARQL-MaxRows" in answer.headers:
                parts.append(None)
                continue
            rows = self._read_results(answer).rows
            parts.append(frozenset(r[0].value for r in rows if isinstance(r[0], ox.NamedNode)))
        subjects, predicates, objects = parts
        return Holdings(subjects, predicates, objects, self._apart(graphs, subjects))

    def _apart(self, graphs: tuple[str, ...], subjects: frozenset[str] | None) -> bool:
        """Return whether the subjects of the triples of ``graphs`` are apart from the
        store's other triples: none a blank node, none of the IRIs ``subjects`` a term of a
        triple of another graph (asked at most for APART_SUBJECTS of them)."""
        if subjects is None or len(subjects) > APART_SUBJECTS:
            return False
        named = " ".join(f"<{graph}>" for graph in graphs)
        queries = [OTHER_BLANK_SUBJECTS.format(graphs=named)]
        if subjects:
            listed = " ".join(f"<{iri}>" for iri in sorted(subjects) if IRI_WRITABLE.fullmatch(iri))
            if len(listed.split()) != len(subjects):
                return False
            separated = ", ".join(f"<{graph}>" for graph in graphs)
            queries.append(OTHER_SUBJECTS_NAMED.format(subjects=listed, graphs=separated))
        try:
            for query in queries:
                answer = self._post(query, RESULTS_JSON, self.timeout)
                if self._read_results(answer, ask=True).boolean is not False:
                    return False
        except ZigraphError as error:
            log.warning("could not ask whether the store's other graphs stand apart: %s", error)
            return False
        return True

    def _other_graphs(self, graphs: list[str]) -> tuple[tuple[str, ...] | None, Holdings | None]:
        """Return the store's graphs that are not among ``graphs``, and what they hold
        (:meth:`_read_holdings`). The graphs are None when one of their IRIs cannot be written
        in a query, they are more than ``graphs``, or the store's list of its graphs came cut
        at its row limit; what they hold is None then, when they are large
        (OTHER_REACH_QUADS), or when the store holds quads in no named graph (the Oxigraph
        server's default graph, which its union default graph takes in).

        Read again when the record's version or the store's census (:meth:`_store_census`)
        changes: a graph loaded into the store by other means is left out from then on.
        """
        version = self.fixed_version()
        census = self._store_census()
        with self._building["others"]:
            known = self._others
            if known is None or known[0] != version or known[1] != census:
                ours = set(graphs)
                sizes = dict(census.sizes)
                others = tuple(graph for graph in sizes if graph not in ours)
                writable = all(IRI_WRITABLE.fullmatch(graph) for graph in others)
                usable = census.whole and writable and len(others) < len(graphs)
                small = sum(sizes[graph] for graph in others) <= OTHER_REACH_QUADS
                unnamed = census.total > sum(sizes.values())  # quads in the default graph
                read = usable and small and not unnamed
                holdings = self._read_holdings(others) if read else None
                known = self._others = (version, census, others if usable else None, holdings)
            return known[2], known[3]

    def _store_census(self) -> Census:
        """Return the store's graphs with their quads: counted now the first time, then the
        last census, taken again in the background once METADATA_SECONDS old, so that no
        request waits for it (0.5 s on the Oxigraph server at a million triples)."""
        with self._cache_lock:
            known = self._census
            if known is not None:
                if time.monotonic() - known[0] > METADATA_SECONDS and not self._counting:
                    self._counting = True
                    threading.Thread(
                        target=self._take_census, name="zigraph store census", daemon=True
                    ).start()
                return known[1]
        return self._take_census()

    def _take_census(self) -> Census:
        """Count the store's graphs and quads, keep the census and return it; one taken in
        the background that fails keeps the last for METADATA_SECONDS more, and is logged."""
        background = self._census is not None
        timeout = max(self.timeout, BULK_TIMEOUT)
        with self._building["census"]:
            if not background and self._census is not None:  # taken while this one waited
                return self._census[1]
            try:
                answer = self._post(STORE_GRAPHS, self._results_type(), timeout)
                rows = self._read_results(answer).rows
                sizes = tuple(
                    sorted(
                        (row[0].value, _quads(row[1]))
                        for row in rows
                        if isinstance(row[0], ox.NamedNode)
                    )
                )
                total = sum(size for _, size in sizes)
                if self.engine.startswith("Oxigraph"):  # its default graph's quads too
                    counted = self._post(UNION_TOTAL, RESULTS_JSON, timeout, union=True)
                    total = _quads(self._read_results(counted).rows[0][0])
                whole = not answer.cut and "X-SPARQL-MaxRows" not in answer.headers
                census = Census(sizes, total, whole)
            except ZigraphError as error:
                if not background or self._census is None:
                    raise
                log.warning("could not count the graphs of the SPARQL store: %s", error)
                census = self._census[1]  # kept, and asked again once as old
            finally:
                with self._cache_lock:
                    self._counting = False
            with self._cache_lock:
                self._census = (time.monotonic(), census)
            return census

    def query(
        self,
        query: ParsedQuery | str,
        *,
        default_graph_uris: list[str] | None = None,
        named_graph_uris: list[str] | None = None,
        client: str | None = None,
    ) -> QueryResult:
        """Ask the remote store and return its capped answer.

        A client's query is sent as its canonical text, in the clients' lane (bound per
        ``client`` address); the service's own as written, at once. Either is read for its
        form, FROM graphs and boolean variables.
        """
        # The service's own query on the store's dataset: kept for the request when expected.
        on_own_dataset = not (default_graph_uris or named_graph_uris)
        own = query if isinstance(query, str) and on_own_dataset else None
        if own is not None and (answered := prefetched(own)) is not None:
            return answered
        text = self._reading(query)
        sparql = text.text if isinstance(query, ParsedQuery) else query
        default, named = self._dataset(
            (text.from_graphs, text.from_named_graphs),
            default_graph_uris or [],
            named_graph_uris or [],
        )
        accept = N_TRIPLES if text.returns_graph else self._results_type()
        reach = text.reach
        if not isinstance(query, ParsedQuery):  # the service's own: no client slot to wait for
            answer = self._post(
                sparql, accept, self.timeout, default, named, MAX_ANSWER_BYTES, reach=reach
            )
        else:
            deadline = request_deadline()
            with self.client_lane.slot(deadline, client):
                seconds = min(self.timeout, deadline - time.monotonic())
                if seconds <= 0:
                    raise QueryTimeout("the time limit was reached before the query could start")
                answer = self._post(
                    sparql, accept, seconds, default, named, MAX_ANSWER_BYTES, reach=reach
                )
        if answer.cut:  # keep what was read whole: the complete lines or bindings
            body = answer.body
            if text.returns_graph:
                body = body[: body.rfind(b"\n") + 1]
            else:
                body = _complete_xml(body) if _is_xml(answer) else _complete(body)
            answer = answer._replace(body=body)
        if text.returns_graph:
            result = self._read_triples(answer.body)
        else:
            result = self._read_results(
                answer, text.form == "ASK", text.boolean_variables, self.result_limit
            )
        # Virtuoso cuts an answer at its ResultSetMaxRows and says so in this header only.
        result.truncated |= answer.cut or "X-SPARQL-MaxRows" in answer.headers
        if own is not None and expected(own):
            keep_prefetched([(own, result)])
            return prefetched(own) or result  # a copy: the caller may change its lists
        return result

    # --- reading answers ------------------------------------------------------------------

    def _unreadable(self, what: str, error: Exception, body: bytes) -> ZigraphError:
        tail = body[-200:].decode("utf-8", "replace")
        if TIMEOUT_WORDS.search(tail):  # the Oxigraph server ends a cancelled answer so
            return self._timeout(tail)
        log.warning(
            "the SPARQL store at %s sent %s that cannot be read: %s", self.endpoint, what, error
        )
        return BackendError(f"the SPARQL store sent {what} that cannot be read")

    def _read_triples(self, body: bytes) -> QueryResult:
        limit = self.result_limit
        triples: list[ox.Triple] = []
        try:  # pyoxigraph parses lazily: iterate inside the error handling
            for triple in ox.parse(body, format=ox.RdfFormat.N_TRIPLES):
                if limit is not None and len(triples) >= limit:
                    return QueryResult(kind="graph", triples=triples, truncated=True)
                triples.append(triple)
        except SyntaxError as error:
            raise self._unreadable("triples", error, body) from None
        return QueryResult(kind="graph", triples=triples)

    def _results_type(self) -> str:
        """Return the Accept header of a SELECT or ASK: XML first for Virtuoso, else JSON."""
        return RESULTS_XML_FIRST if self.engine.startswith("Virtuoso") else RESULTS_JSON

    def _read_results(
        self,
        answer: StoreAnswer,
        ask: bool = False,
        booleans: frozenset[str] = frozenset(),
        limit: int | None = None,
    ) -> QueryResult:
        """Read SPARQL XML or JSON results (as the answer's Content-Type says), at most
        ``limit`` rows."""
        body = answer.body
        if _is_xml(answer):
            try:
                return _xml_results(body, ask, booleans, limit)
            except (SyntaxError, ValueError) as error:
                raise self._unreadable("results", error, body) from None
        try:
            document = json.loads(body)
        except ValueError as error:
            raise self._unreadable("results", error, body) from None
        try:
            if "boolean" in document:
                return QueryResult(kind="boolean", boolean=bool(document["boolean"]))
            variables = list(document["head"].get("vars", []))
            bindings = document["results"]["bindings"]
            if ask and variables == [VIRTUOSO_ASK]:  # Virtuoso answers ASK as a table
                values = [row.get(VIRTUOSO_ASK, {}).get("value") for row in bindings]
                truth = any(v not in ("0", None) for v in values)
                return QueryResult(kind="boolean", boolean=truth)
            rows: list[tuple[Term | None, ...]] = []
            for binding in bindings:
                if limit is not None and len(rows) >= limit:
                    return QueryResult(
                        kind="bindings", variables=variables, rows=rows, truncated=True
                    )
                rows.append(
                    tuple(
                        _term(binding[v], v in booleans) if v in binding else None
                        for v in variables
                    )
                )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise self._unreadable("results", error, body) from None
        return QueryResult(kind="bindings", variables=variables, rows=rows)

    # --- the store as a whole -------------------------------------------------------------

    def _cached(self, key: str, build):
        """Return a value read from the store at most METADATA_SECONDS ago, reading it once."""
        with self._building[key]:
            with self._cache_lock:
                if key in self._cache:
                    return self._cache[key]
            value = build()
            with self._cache_lock:
                self._cache[key] = value
            return value

    def record(self) -> dict | None:
        """Return the metadata of the record ``zigraph push`` wrote, at most METADATA_SECONDS
        old, or None when the store holds none (its data was loaded by other means)."""

        def read() -> dict | None:
            metadata, _ = self._read_record(None)
            if metadata is None and not self._warned:
                self._warned = True
                log.warning(
                    "the SPARQL store at %s holds no record of zigraph push (graph %s): "
                    "its size, version and statistics are counted by the store, and its "
                    "pages and answers are not cached; load the data with zigraph push",
                    self.endpoint,
                    RECORD_GRAPH,
                )
            return metadata

        return self._cached("record", read)

    def record_part(self, part: str) -> str | None:
        """Return one part of the record (``statistics`` or ``report``), read once a version.

        None when the store holds no record, or a record without that part (pushed with
        ``--no-validate``: no report).
        """
        record = self.record()
        if record is None:
            return None
        key = (part, record["version"])
        with self._building["record part"]:
            if key not in self._record_parts:
                metadata, text = self._read_record(RECORD_PARTS[part])
                # Read with its own metadata: a push since may have written another version.
                version = metadata["version"] if metadata else None
                self._record_parts = {
                    k: v for k, v in self._record_parts.items() if k[1] == version
                }
                self._record_parts[(part, version)] = text
                return text
            return self._record_parts[key]

    def read_record_part(self, part: str) -> tuple[str | None, str | None]:
        """Read one part of the record now, not kept (``search``: megabytes, unpacked by the
        caller); return the version it belongs to and its text, None for either missing."""
        metadata, text = self._read_record(RECORD_PARTS[part])
        return (metadata["version"] if metadata else None), text

    def _read_record(self, part: str | None) -> tuple[dict | None, str | None]:
        """Read the record's metadata and, if named, one more of its parts."""
        wanted = [RECORD_PARTS["metadata"], *([part] if part else [])]
        query = (
            f"SELECT ?p ?piece WHERE {{ GRAPH <{RECORD_GRAPH}> {{ <{RECORD_GRAPH}> ?p ?piece "
            f"FILTER(?p IN ({', '.join(f'<{w}>' for w in wanted)})) }} }}"
        )
        answer = self._post(query, self._results_type(), self.timeout, [NO_GRAPH], [RECORD_GRAPH])
        pieces: dict[str, list[str]] = {}
        for predicate, piece in self._read_results(answer).rows:
            if predicate is not None and piece is not None:
                pieces.setdefault(term_value(predicate), []).append(term_value(piece))
        if RECORD_PARTS["metadata"] not in pieces:
            return None, None
        metadata = record_text(pieces[RECORD_PARTS["metadata"]])
        text = record_text(pieces[part]) if part in pieces else None
        try:
            found = json.loads(metadata)
            if not isinstance(found, dict) or not isinstance(found.get("version"), str):
                raise ValueError("no version")
        except ValueError as error:
            log.warning(
                "the record in the SPARQL store at %s cannot be read: %s", self.endpoint, error
            )
            return None, None
        return found, text if part is not None else None

    def _graph_counts(self) -> dict[str, int]:
        """Return each of zigraph's graphs with its quads, counted by the store."""

        def read() -> dict[str, int]:
            rows = self._read_results(
                self._post(GRAPH_COUNTS, self._results_type(), max(self.timeout, BULK_TIMEOUT))
            ).rows
            return {
                row[0].value: int(term_value(row[1]))
                for row in rows
                if isinstance(row[0], ox.NamedNode) and row[1] is not None
            }

        return self._cached("counts", read)

    def graphs(self) -> list[str]:
        """Return the IRIs of the graphs zigraph pushed (not the store's own system graphs)."""
        record = self.record()
        if record is not None:
            return list(record.get("graphs", []))
        return sorted(self._graph_counts())

    def metadata(self) -> dict:
        """Return the dataset's metadata: the record's, with every key ``zigraph serve``
        keeps beside a built store; without a record, the store's counts and a version
        made of them."""
        record = self.record()
        if record is not None:
            return record
        counts = self._graph_counts()
        lines = "".join(f"{graph}\t{n}\n" for graph, n in sorted(counts.items()))
        return {
            "version": "n" + hashlib.sha256(lines.encode()).hexdigest()[:15],
            "triples": sum(counts.values()),
            "graphs": sorted(counts),
            "built": None,
        }

    def fixed_version(self) -> str | None:
        """Return the version of the record, at most METADATA_SECONDS old; None without one.

        Pages and answers are kept per version, as over the embedded store: data changed in
        the store by anything but ``zigraph push`` is seen once the record changes.
        """
        record = self.record()
        return record["version"] if record is not None else None

    def statistics(self) -> dict:
        """Return the VoID statistics: the record's, or counted by the store once a version."""
        text = self.record_part("statistics")
        if text is not None:
            return statistics.loads(text)
        version = self.metadata()["version"]
        with self._building["statistics"]:
            if self._counted is None or self._counted[0] != version:
                self._counted = (version, statistics.from_queries(self._bulk_rows))
            return self._counted[1]

    def _bulk_rows(self, query: str) -> list[tuple[Term | None, ...]]:
        """Return every row a query of the service's answers over zigraph's graphs."""
        timeout = max(self.timeout, BULK_TIMEOUT)
        answer = self._post(query, self._results_type(), timeout, ZIGRAPH_GRAPHS, ZIGRAPH_GRAPHS)
        return self._read_results(answer).rows

    def quads(self) -> list[ox.Quad]:
        """Return every quad of zigraph's graphs, blank nodes named per graph, sorted.

        A read of the whole store into memory: only /validation of a store without a record
        needs it.
        """
        return sorted(self._stream_quads(), key=lambda q: (str(q.graph_name), str(q)))

    def class_members(
        self, cls: str, start: int, count: int, descending: bool = False
    ) -> list[str] | None:
        """Return a page of a large class's members, sorted by IRI, from the record's first
        or last members; None past them, or without them (the page is then the store's own
        ORDER BY)."""
        text = self.record_part("classes")
        if text is None:
            return None
        with self._building["record part"]:
            if self._class_ends is None or self._class_ends[0] is not text:
                self._class_ends = (text, json.loads(text))
            ends = self._class_ends[1].get(cls)
        members = ends and ends["last" if descending else "first"]
        if not members or start + count > len(members):
            return None
        return members[start : start + count]

    def dump(self, fmt: RdfSerialization, output: IO[bytes]) -> None:
        """Write every quad of zigraph's graphs in ``fmt``: the bytes `zigraph export` writes.

        The quads are read graph by graph, PAGE_ROWS at a time, and sorted on disk: no
        more than one graph's blank-node quads is held in memory.
        """
        write_dataset(self._stream_quads(), fmt, output, blank_nodes_named=True)

    def _stream_quads(self) -> Iterator[ox.Quad]:
        """Yield the quads of zigraph's graphs, graph by graph; blank nodes named by RDFC-1.0
        within their graph, their labels made unique across graphs."""
        for graph in self.graphs():
            blank: list[ox.Quad] = []
            for quad in self._graph_quads(graph):
                if has_blank_node(quad):
                    blank.append(quad)
                else:
                    yield quad
            if blank:
                prefix = "g" + hashlib.sha256(graph.encode()).hexdigest()[:12]
                named = sorted(name_blank_nodes(blank), key=str)
                yield from (_relabelled(quad, prefix) for quad in named)

    def _graph_quads(self, graph: str) -> Iterator[ox.Quad]:
        """Yield the quads of one graph, read PAGE_ROWS at a time."""
        name = ox.NamedNode(graph)
        offset = 0
        while True:
            query = GRAPH_PAGE.format(graph=graph, limit=PAGE_ROWS, offset=offset)
            answer = self._post(
                query, self._results_type(), max(self.timeout, BULK_TIMEOUT), [NO_GRAPH], [graph]
            )
            if "X-SPARQL-MaxRows" in answer.headers:
                raise BackendError(
                    f"the SPARQL store answers fewer than {PAGE_ROWS} rows "
                    "at a time, so the dataset cannot be read whole; raise its row limit "
                    "(Virtuoso: ResultSetMaxRows)"
                )
            rows = self._read_results(answer).rows
            for row in rows:
                yield _quad((*row, name))
            if len(rows) < PAGE_ROWS:
                return
            offset += PAGE_ROWS

    def health(self) -> dict:
        """Return the store's state: reachable now, its size and version (at most
        METADATA_SECONDS old), from the record or counted by the store."""
        self._post("ASK {}", RESULTS_JSON, self.timeout)  # reachable now, whatever is cached
        if not self.graphs():
            raise BackendUnavailable(
                "the SPARQL store holds none of zigraph's graphs "
                f"(named {GRAPH_BASE}…); load them with zigraph push"
            )
        metadata = self.metadata()
        return {
            "store": self.name,
            "engine": self.engine,
            "triples": metadata.get("triples"),
            "version": metadata["version"],
            "record": self.record() is not None,
        }

    def start(self) -> None:
        """Read the record and how zigraph's graphs are named to the store (its other graphs:
        0.3 s at a million triples on Virtuoso, 0.5 s on the Oxigraph server) now, as a web
        process does before its first request; a store that does not answer yet is asked
        again by the first query."""
        try:
            self._zigraph_graphs()
        except ZigraphError as error:
            log.warning("the SPARQL store at %s did not answer at start: %s", self.endpoint, error)

    def close(self) -> None:
        """Forget the cached store contents, close the connections, stop the readers."""
        self._readers.close()
        with self._cache_lock:
            self._cache.clear()
            self._census = None
        self._session.close()
        if self._connections is not None:
            self._connections.clear()


def _term(value: dict, boolean: bool) -> Term:
    """Return the term of a SPARQL JSON binding, spelled as the embedded store spells it.

    :param boolean: the variable is bound to a boolean (EXISTS, true, false), which Virtuoso
        answers as the integer 0 or 1.
    """
    kind = value["type"]
    if kind == "uri":
        return ox.NamedNode(value["value"])
    if kind == "bnode":
        label = value["value"]
        if not BLANK_LABEL.fullmatch(label):  # Virtuoso's nodeID://b10000
            label = "b" + hashlib.blake2b(label.encode(), digest_size=8).hexdigest()
        return ox.BlankNode(label)
    if kind == "triple":
        inner = value["value"]
        subject, predicate = _term(inner["subject"], False), _term(inner["predicate"], False)
        if isinstance(subject, ox.Literal) or not isinstance(predicate, ox.NamedNode):
            raise TypeError(f"a triple term cannot hold {subject} {predicate}")
        return ox.Triple(subject, predicate, _term(inner["object"], False))
    text = value["value"]
    if "xml:lang" in value:
        return ox.Literal(text, language=value["xml:lang"])
    datatype = value.get("datatype")
    if datatype:
        return _boolean(ox.Literal(text, datatype=ox.NamedNode(datatype)), boolean)
    return ox.Literal(text)


def _is_xml(answer: StoreAnswer) -> bool:
    """Return whether the store answered SPARQL XML results."""
    media_type = answer.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return media_type == RESULTS_XML


# pyoxigraph's XML results parser (0.5) drops the whitespace at either end of a literal
# (" Disdik …" read as "Disdik …"): written as character references, it is kept. Literals'
# text is all that is changed; an element's own whitespace is not inside a literal.
LITERAL_START = re.compile(rb"(<literal\b[^>]*(?<!/)>)([ \t\r\n]+)")
LITERAL_END = b"</literal>"
SPACES = b" \t\r\n"
XML_BLANK = re.compile(rb"<bnode>([^<]*)</bnode>")


def _references(spaces: bytes) -> bytes:
    return b"".join(b"&#%d;" % c for c in spaces)


def _literal_ends_kept(body: bytes) -> bytes:
    """Return XML results whose literals' whitespace at either end is written as references.

    The ends are found by splitting, not by a pattern ending in ``</literal>``: that one is
    tried at every space of the document's indentation (14 ms for 2,500 rows, this 1.5 ms).
    """
    parts = body.split(LITERAL_END)
    for i, part in enumerate(parts[:-1]):
        if part[-1:] and part[-1] in SPACES:
            text = part.rstrip(SPACES)
            parts[i] = text + _references(part[len(text) :])
    body = LITERAL_END.join(parts)
    return LITERAL_START.sub(lambda m: m.group(1) + _references(m.group(2)), body)


def _blank_element(found: re.Match) -> bytes:
    """Return a ``<bnode>`` element whose label pyoxigraph reads: Virtuoso's nodeID://b10000
    becomes the label ``_term`` gives it in JSON results."""
    label = html.unescape(found.group(1).decode("utf-8"))
    if BLANK_LABEL.fullmatch(label):
        return found.group(0)
    return (
        b"<bnode>b"
        + hashlib.blake2b(label.encode(), digest_size=8).hexdigest().encode()
        + b"</bnode>"
    )


def _xml_results(
    body: bytes, ask: bool, booleans: frozenset[str], limit: int | None
) -> QueryResult:
    """Read SPARQL XML results as ``RemoteBackend._read_results`` reads JSON ones."""
    body = XML_BLANK.sub(_blank_element, _literal_ends_kept(body))
    parsed = ox.parse_query_results(body, ox.QueryResultsFormat.XML)
    if isinstance(parsed, ox.QueryBoolean):
        return QueryResult(kind="boolean", boolean=bool(parsed))
    variables = [variable.value for variable in parsed.variables]
    rows: list[tuple[Term | None, ...]] = []
    for solution in parsed:  # parsed lazily: a syntax error may come here
        if limit is not None and len(rows) >= limit:
            return QueryResult(kind="bindings", variables=variables, rows=rows, truncated=True)
        rows.append(tuple(solution[v] for v in variables))
    if ask and variables == [VIRTUOSO_ASK]:  # Virtuoso answers ASK as a table
        truth = any(isinstance(row[0], ox.Literal) and row[0].value != "0" for row in rows)
        return QueryResult(kind="boolean", boolean=truth)
    columns = {i for i, v in enumerate(variables) if v in booleans}
    if columns or XSD_BOOLEAN.encode() in body:  # spelled as _term spells them
        rows = [
            tuple(
                _boolean(t, i in columns) if isinstance(t, ox.Literal) else t
                for i, t in enumerate(row)
            )
            for row in rows
        ]
    return QueryResult(kind="bindings", variables=variables, rows=rows)


def _boolean(term: ox.Literal, boolean: bool) -> ox.Literal:
    """Return an xsd:boolean 0 or 1, or in a boolean column Virtuoso's integer 0 or 1, as
    false or true; any other literal as it is (for JSON and XML results alike)."""
    if term.value not in ("0", "1"):
        return term
    datatype = term.datatype.value
    if datatype == XSD_BOOLEAN or (boolean and datatype == XSD_INTEGER):
        return ox.Literal("true" if term.value == "1" else "false", datatype=XSD_BOOLEAN_IRI)
    return term


def _quads(count: Term | None) -> int:
    """Return a graph's count of quads as the store wrote it; past OTHER_REACH_QUADS when it
    is not a number."""
    text = term_value(count) if count is not None else ""
    return int(text) if text.isdigit() else OTHER_REACH_QUADS + 1


def _complete_xml(body: bytes) -> bytes:
    """Return SPARQL XML results cut short as a document of their complete results."""
    end = body.rfind(b"</result>")
    start = body.find(b"<results")
    if end < 0:
        return body[: body.find(b">", start) + 1] + b"</results></sparql>" if start >= 0 else body
    return body[: end + len(b"</result>")] + b"</results></sparql>"


def _quad(row: tuple[Term | None, ...]) -> ox.Quad:
    """Return the quad of a row of ``ALL_QUADS``, or raise TypeError when it holds none."""
    subject, predicate, term, graph = row
    if (
        not isinstance(subject, ox.NamedNode | ox.BlankNode | ox.Triple)
        or not isinstance(predicate, ox.NamedNode)
        or term is None
        or not isinstance(graph, ox.NamedNode | ox.BlankNode)
    ):
        raise TypeError(f"not a quad: {row}")
    return ox.Quad(subject, predicate, term, graph)


def _relabelled(quad: ox.Quad, prefix: str) -> ox.Quad:
    """Return a quad whose blank node labels, quoted triples' too, begin with ``prefix``."""

    def term(value):
        if isinstance(value, ox.BlankNode):
            return ox.BlankNode(prefix + value.value)
        if isinstance(value, ox.Triple):
            return ox.Triple(term(value.subject), value.predicate, term(value.object))
        return value

    return ox.Quad(term(quad.subject), quad.predicate, term(quad.object), quad.graph_name)


def _complete(body: bytes) -> bytes:
    """Return SPARQL JSON results cut short as a document of their complete bindings."""
    text = body.decode("utf-8", "ignore")  # the cut may split a character
    decoder = json.JSONDecoder()
    head_at = text.find("{", text.find('"head"'))
    bindings_at = text.find("[", text.find('"bindings"'))
    if head_at < 0 or bindings_at < 0:
        return body
    head, _ = decoder.raw_decode(text, head_at)
    bindings, position = [], bindings_at + 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        try:
            binding, position = decoder.raw_decode(text, position)
        except ValueError:
            break
        bindings.append(binding)
    document = {"head": head, "results": {"bindings": bindings}}
    return json.dumps(document).encode()


def _store_words(message: str) -> str:
    """Return what a store says about an error, without the query text it may echo after it.

    Virtuoso follows its one-line reason with "SPARQL query:" and the whole query; Oxigraph's
    reason is one line too. The first line is kept, cut short.
    """
    first = message.strip().split("\n", 1)[0]
    first = first.split("SPARQL query:", 1)[0].strip()
    return first[:200] + ("…" if len(first) > 200 else "")


class StoreTimeout(Exception):
    """The store gave no answer, or no whole answer, in time (``RemoteBackend._send``)."""


class StoreUnreachable(Exception):
    """The connection to the store failed; its cause is the HTTP library's error."""


def _read_until(
    chunks: Iterator[bytes], max_bytes: int | None, deadline: float
) -> tuple[bytes, bool]:
    """Return the chunks joined and whether reading stopped past ``max_bytes``; raise
    StoreTimeout past the deadline (``time.monotonic()``)."""
    read, size = [], 0
    for chunk in chunks:
        read.append(chunk)
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            return b"".join(read), True
        if time.monotonic() > deadline:
            raise StoreTimeout()
    return b"".join(read), False


def _reason(error: BaseException) -> str:
    """Return why a connection failed, in a few words ("[Errno 111] Connection refused")."""
    found = re.search(r"\[Errno -?\d+\] [^'\")]*", str(error))
    return found.group() if found else type(error).__name__
