"""The remote backend: any SPARQL 1.1 query endpoint, asked through SPARQLWrapper.

SELECT and ASK are asked for SPARQL JSON results, CONSTRUCT and DESCRIBE for N-Triples;
both are parsed with pyoxigraph into the same :class:`QueryResult` the embedded store
gives, so every route and serializer works unchanged. Queries are checked (no SERVICE,
no update) before they are forwarded. A store that is down answers 503 naming its URL;
the next request tries again, so the service recovers without a restart.
"""

from __future__ import annotations

import threading
import time
import urllib.error

import pyoxigraph as ox
from SPARQLWrapper import POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from service.dataset import canonical_quads, dataset_version
from service.errors import BackendError, BackendUnavailable, QueryTimeout
from service.querysafety import CheckedQuery, tokens
from service.store import QueryResult

RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"
CACHE_SECONDS = 30.0  # how long the whole-store read (dumps, VoID, version) is reused
BULK_TIMEOUT = 120.0
ALL_QUADS = "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
ALL_GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
COUNT_TRIPLES = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


class RemoteBackend:
    """Query a remote SPARQL 1.1 endpoint."""

    def __init__(self, endpoint: str, result_limit: int | None = None, timeout: float = 10.0):
        self.endpoint = endpoint
        self.location = endpoint
        self.name = "remote"
        self.result_limit = result_limit
        self.timeout = timeout
        self._cache: tuple[float, list[ox.Quad]] | None = None
        self._cache_lock = threading.Lock()

    def _ask(
        self,
        sparql: str,
        graph_answer: bool,
        timeout: float,
        default_graph_uris: list[str] | None = None,
        named_graph_uris: list[str] | None = None,
    ) -> bytes:
        client = SPARQLWrapper(self.endpoint)
        client.setQuery(sparql)
        client.setMethod(POST)
        client.setOnlyConneg(True)  # no format= parameters: the Accept header decides
        client.setTimeout(int(max(1, timeout)))
        client.addCustomHttpHeader("Accept", N_TRIPLES if graph_answer else RESULTS_JSON)
        for iri in default_graph_uris or ():
            client.addDefaultGraph(iri)
        for iri in named_graph_uris or ():
            client.addNamedGraph(iri)
        try:
            result = client.query()
            with result.response as response:
                return response.read()
        except SPARQLWrapperException as error:
            _close(error.__context__)
            raise BackendError(
                f"the SPARQL store at {self.endpoint} refused the query: {error.msg}"
            ) from None
        except urllib.error.HTTPError as error:
            _close(error)
            raise BackendError(
                f"the SPARQL store at {self.endpoint} answered {error.code} {error.reason}"
            ) from None
        except TimeoutError:
            raise QueryTimeout(
                f"the SPARQL store at {self.endpoint} gave no answer within {timeout:g} s"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, TimeoutError):
                raise QueryTimeout(
                    f"the SPARQL store at {self.endpoint} gave no answer within {timeout:g} s"
                ) from None
            raise BackendUnavailable(
                f"the SPARQL store at {self.endpoint} cannot be reached ({reason})"
            ) from None

    def _solutions(self, sparql: str, timeout: float) -> ox.QuerySolutions:
        data = self._ask(sparql, graph_answer=False, timeout=timeout)
        return self._parse_results(data)

    def _parse_results(self, data: bytes) -> ox.QuerySolutions | ox.QueryBoolean:
        try:
            return ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
        except SyntaxError as error:
            raise BackendError(
                f"the SPARQL store at {self.endpoint} sent results that cannot be read: {error}"
            ) from None

    def query(
        self,
        sparql: str,
        *,
        default_graph_uris: list[str] | None = None,
        named_graph_uris: list[str] | None = None,
        checked: CheckedQuery | None = None,
        client: str | None = None,
    ) -> QueryResult:
        """Ask the remote store and return its capped answer.

        :param checked: the pre-check's reading of a client's query (the routes check clients'
            queries before they get here); the service's own queries come without one.
        """
        returns_graph = checked.returns_graph if checked is not None else _returns_graph(sparql)
        data = self._ask(
            sparql,
            returns_graph,
            self.timeout,
            default_graph_uris=default_graph_uris,
            named_graph_uris=named_graph_uris,
        )
        limit = self.result_limit
        if returns_graph:
            try:
                parsed = ox.parse(data, format=ox.RdfFormat.N_TRIPLES)
                triples = []
                for triple in parsed:
                    if limit is not None and len(triples) >= limit:
                        return QueryResult(kind="graph", triples=triples, truncated=True)
                    triples.append(triple)
            except SyntaxError as error:
                raise BackendError(
                    f"the SPARQL store at {self.endpoint} sent triples that cannot be read: {error}"
                ) from None
            return QueryResult(kind="graph", triples=triples)
        answer = self._parse_results(data)
        if isinstance(answer, ox.QueryBoolean):
            return QueryResult(kind="boolean", boolean=bool(answer))
        variables = [v.value for v in answer.variables]
        rows = []
        for solution in answer:
            if limit is not None and len(rows) >= limit:
                return QueryResult(kind="bindings", variables=variables, rows=rows, truncated=True)
            rows.append(tuple(solution[v] for v in variables))
        return QueryResult(kind="bindings", variables=variables, rows=rows)

    def quads(self) -> list[ox.Quad]:
        """Return every quad in the store's named graphs, blank nodes named stably, sorted."""
        with self._cache_lock:
            if self._cache is not None and time.monotonic() - self._cache[0] < CACHE_SECONDS:
                return self._cache[1]
            solutions = self._solutions(ALL_QUADS, max(self.timeout, BULK_TIMEOUT))
            quads = canonical_quads(
                ox.Quad(row["s"], row["p"], row["o"], row["g"]) for row in solutions
            )
            quads.sort(key=lambda q: (str(q.graph_name), str(q)))
            self._cache = (time.monotonic(), quads)
            return quads

    def graphs(self) -> list[str]:
        """Return the IRIs of the store's non-empty named graphs."""
        return sorted(row["g"].value for row in self._solutions(ALL_GRAPHS, self.timeout))

    def metadata(self) -> dict:
        """Return the dataset version, triple count and graphs, read from the store."""
        quads = self.quads()
        return {
            "version": dataset_version(quads),
            "triples": len(quads),
            "graphs": sorted({q.graph_name.value for q in quads}),
            "built": None,
        }

    def fixed_version(self) -> None:
        """Return None: the remote store may change at any time without zigraph knowing."""
        return None

    def health(self) -> dict:
        """Return the store's kind, URL and triple count."""
        (row,) = list(self._solutions(COUNT_TRIPLES, self.timeout))
        return {
            "store": self.name,
            "endpoint": self.endpoint,
            "triples": int(row["n"].value),
            "version": self.metadata()["version"],
        }

    def close(self) -> None:
        """Forget the cached store contents."""
        self._cache = None


def _returns_graph(sparql: str) -> bool:
    """Return whether one of the service's own queries is a CONSTRUCT or DESCRIBE."""
    for token in tokens(sparql):
        if token.kind == "word" and token.text.upper() in ("SELECT", "ASK"):
            return False
        if token.kind == "word" and token.text.upper() in ("CONSTRUCT", "DESCRIBE"):
            return True
    return False


def _close(error: BaseException | None) -> None:
    """Close the connection an HTTP error holds (SPARQLWrapper leaves it open)."""
    close = getattr(error, "close", None)
    if close is not None:
        close()
