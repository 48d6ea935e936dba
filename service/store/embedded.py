"""The embedded backend: an Oxigraph store on disk, built once from the dataset, read-only after."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pyoxigraph as ox

from service import export, search, statistics
from service.errors import BackendUnavailable, EngineFailed, StorePreparing
from service.queryparser import ParsedQuery
from service.store.base import QueryResult, keep_prefetched, prefetched, request_deadline
from service.store.evaluator import EvaluatorPool
from service.store.ordering import order_rows
from service.terms import Term

if TYPE_CHECKING:
    from service.export import RdfSerialization

log = logging.getLogger(__name__)
METADATA_FILE = "zigraph-store.json"
STATISTICS_FILE = "zigraph-void-statistics.json"
MEMBERS_FOLDER = "zigraph-class-members"  # each large class's members, sorted, for its pages
LISTED_MEMBERS = 1000  # a class with more members is listed in MEMBERS_FOLDER
OFFSET_BYTES = 8
BULK_TIMEOUT = 120.0  # seconds for reading the whole store (dumps, VoID)
# Quads the bulk loader holds at a time. Its memory grows with what one call is given (about
# 1 GB for a million quads at once, 230 MB in batches of this size, and no slower): the
# store's files are compacted by optimize() afterwards either way.
LOAD_BATCH = 200_000


def write_metadata(path: Path, metadata: dict) -> None:
    """Write a store's metadata beside it, replacing the file in one step."""
    partial = path / (METADATA_FILE + ".partial")
    partial.write_text(json.dumps(metadata, indent=2) + "\n")
    partial.replace(path / METADATA_FILE)


def read_metadata(path: Path) -> dict | None:
    """Return a built store's metadata, or None when the folder holds no complete store."""
    try:
        return json.loads((path / METADATA_FILE).read_text())
    except (OSError, ValueError):
        return None


def save_statistics(path: Path, figures: dict) -> None:
    """Save a store's VoID statistics beside it, replacing the file in one step."""
    saved = path / STATISTICS_FILE
    partial = saved.with_name(f".{saved.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        partial.write_text(statistics.dumps(figures))
        os.replace(partial, saved)
    except OSError as error:  # a read-only folder: counted again by the next process
        log.warning("cannot save the VoID statistics beside the store: %s", error)
        partial.unlink(missing_ok=True)


# The parts of a built store made after its load, from it: each is complete once its file is.
STATISTICS = "statistics"
SEARCH = "search"
PART_NAMES = {STATISTICS: "statistics", SEARCH: "search index"}
_PART_FILES = {STATISTICS: STATISTICS_FILE, SEARCH: f"{search.INDEX_FOLDER}/meta.json"}


def finished(path: Path, part: str) -> bool:
    """Return whether a built store has ``part`` (STATISTICS, SEARCH) made."""
    return (path / _PART_FILES[part]).is_file()


def marker_file(path: Path, part: str) -> Path:
    """Return the file that names the process making ``part`` while it runs."""
    return path / f"zigraph-making-{part}.pid"


def being_finished(path: Path, part: str) -> bool:
    """Return whether a live process is making ``part`` of the store now."""
    try:
        pid = int(marker_file(path, part).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError) as error:
        return isinstance(error, PermissionError)  # alive, but another user's
    return True


def refuse_while_being_finished(path: Path, part: str) -> None:
    """Raise StorePreparing when ``part`` is missing and being made, rather than make it here."""
    if not finished(path, part) and being_finished(path, part):
        raise StorePreparing(f"the store's {PART_NAMES[part]} is being made: still a moment")


def members_file(path: Path, cls: str) -> Path:
    """Return the file of a class's sorted members in the store at ``path``."""
    return path / MEMBERS_FOLDER / f"{hashlib.sha256(cls.encode()).hexdigest()[:32]}.txt"


def save_class_members(store: ox.Store, path: Path, classes: Iterable[str]) -> None:
    """Save each class's members (IRIs, its subclasses' too), sorted, one a line.

    An index of each line's offset beside them lets a page be read without the rest.
    """
    for cls in classes:
        answer = store.query(statistics.members_of(f"<{cls}>"), use_default_graph_as_union=True)
        if not isinstance(answer, ox.QuerySolutions):
            raise TypeError("a SELECT query gave no solutions")
        members = sorted(row[0].value for row in answer if isinstance(row[0], ox.NamedNode))
        lines = [f"{iri}\n".encode() for iri in members]
        offsets = [0]
        for line in lines:
            offsets.append(offsets[-1] + len(line))
        target = members_file(path, cls)
        target.parent.mkdir(exist_ok=True)
        target.with_suffix(".idx").write_bytes(
            b"".join(o.to_bytes(OFFSET_BYTES, "little") for o in offsets)
        )
        target.write_bytes(b"".join(lines))


def read_class_members(
    path: Path, cls: str, start: int, count: int, descending: bool
) -> list[str] | None:
    """Return ``count`` members of a class from the ``start``-th, or None if not listed."""
    target = members_file(path, cls)
    try:
        with target.with_suffix(".idx").open("rb") as index, target.open("rb") as lines:
            total = index.seek(0, os.SEEK_END) // OFFSET_BYTES - 1
            first = max(0, total - start - count) if descending else min(start, total)
            last = max(0, total - start) if descending else min(start + count, total)
            index.seek(first * OFFSET_BYTES)
            begin = int.from_bytes(index.read(OFFSET_BYTES), "little")
            index.seek(last * OFFSET_BYTES)
            end = int.from_bytes(index.read(OFFSET_BYTES), "little")
            lines.seek(begin)
            members = lines.read(end - begin).decode().splitlines()
    except OSError:
        return None
    return members[::-1] if descending else members


def run_query(
    store: ox.Store,
    sparql: str,
    *,
    default_graph_uris: list[str] | None = None,
    named_graph_uris: list[str] | None = None,
    limit: int | None = None,
    union_default_graph: bool = True,
) -> QueryResult:
    """Evaluate a query on ``store``.

    :param union_default_graph: make the default graph the union of all named graphs; pass
        False when the query or the request names its dataset (FROM, default-graph-uri).
    :param limit: the most rows or triples to return; more are dropped and the result is
        marked truncated.
    """
    options: dict = {}
    if union_default_graph:
        options["use_default_graph_as_union"] = True
    if default_graph_uris:
        options["default_graph"] = [ox.NamedNode(iri) for iri in default_graph_uris]
    if named_graph_uris:
        options["named_graphs"] = [ox.NamedNode(iri) for iri in named_graph_uris]
    answer = store.query(sparql, **options)
    if isinstance(answer, ox.QueryBoolean):
        return QueryResult(kind="boolean", boolean=bool(answer))
    if isinstance(answer, ox.QuerySolutions):
        variables = [v.value for v in answer.variables]
        rows: list[tuple[Term | None, ...]] = []
        truncated = False
        for solution in answer:
            if limit is not None and len(rows) >= limit:
                truncated = True
                break
            rows.append(tuple(solution[v] for v in variables))
        return QueryResult(kind="bindings", variables=variables, rows=rows, truncated=truncated)
    triples: list[ox.Triple] = []
    truncated = False
    for triple in answer:
        if limit is not None and len(triples) >= limit:
            truncated = True
            break
        triples.append(triple)
    return QueryResult(kind="graph", triples=triples, truncated=truncated)


def run_queries(store: ox.Store, texts: list[str], **arguments: object) -> list[QueryResult | None]:
    """Evaluate several queries on ``store``, each as ``run_query`` would; None for a failure.

    A failed query is left to be asked again on its own, where its error is reported.
    """
    answers: list[QueryResult | None] = []
    for text in texts:
        try:
            answers.append(run_query(store, text, **arguments))  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 (asked again alone, where it raises)
            answers.append(None)
    return answers


def all_quads(store: ox.Store) -> list[ox.Quad]:
    """Return every quad of the store, sorted by graph then quad."""
    return sorted(store, key=lambda q: (str(q.graph_name), str(q)))


def count_quads(store: ox.Store) -> int:
    """Return how many quads the store holds (a scan: half a second at a million)."""
    return len(store)


def answers(store: ox.Store) -> bool:
    """Return whether the store gives back a quad: an evaluator's health, in microseconds."""
    return next(iter(store.quads_for_pattern(None, None, None)), None) is not None


class EmbeddedBackend:
    """Query a built Oxigraph store through evaluator processes that have no network.

    Two pools: the service's own queries (pages, search, health, dumps) have evaluators that
    clients' queries cannot take; clients' queries get ``evaluators`` of their own, at a lower
    CPU priority, a short queue and a bound per client address.
    """

    def __init__(
        self,
        path: Path,
        *,
        isolation: str,
        result_limit: int | None = None,
        timeout: float = 10.0,
        evaluators: int = 2,
        service_evaluators: int = 2,
        queries_per_client: int | None = 4,
        client_niceness: int = 10,
        memory_mb: int | None = None,
        idle_seconds: float = 0,
    ) -> None:
        self.path = path
        self.name = "embedded"
        self.location = str(path)
        self.isolation = isolation
        self.result_limit = result_limit
        self.timeout = timeout
        self.service_pool = EvaluatorPool(
            path,
            size=service_evaluators,
            isolation=isolation,
            memory_mb=memory_mb,
            idle_seconds=idle_seconds,
        )
        self.client_pool = EvaluatorPool(
            path,
            size=evaluators,
            isolation=isolation,
            niceness=client_niceness,
            memory_mb=memory_mb,
            waiting=2 * evaluators,
            per_client=queries_per_client,
            idle_seconds=idle_seconds,
        )
        self._metadata: dict | None = None
        self._statistics: dict | None = None

    def start(self) -> None:
        """Start every evaluator now (a web process does, before its first request)."""
        self.service_pool.start()
        self.client_pool.start()

    def metadata(self) -> dict:
        """Return the store's metadata: version, built, triples, graphs."""
        if self._metadata is not None:  # a built store never changes
            return self._metadata
        metadata = self._metadata = read_metadata(self.path)
        if metadata is None:
            log.error("no complete store in %s (its metadata file is missing)", self.path)
            raise BackendUnavailable("the store has not been built; the server log says where")
        return metadata

    def fixed_version(self) -> str:
        """Return the dataset version, which a built store keeps while this process runs."""
        return self.metadata()["version"]

    def graphs(self) -> list[str]:
        """Return the IRIs of the store's named graphs."""
        return list(self.metadata().get("graphs", []))

    def query(
        self,
        query: ParsedQuery | str,
        *,
        default_graph_uris: list[str] | None = None,
        named_graph_uris: list[str] | None = None,
        client: str | None = None,
    ) -> QueryResult:
        """Evaluate a query in an evaluator process, by the request's deadline.

        A client's query (read and checked) runs its canonical text in the clients'
        evaluators, bound per ``client`` address; the service's own text in the service's.
        """
        if isinstance(query, ParsedQuery):
            pool, text, names_dataset = self.client_pool, query.text, query.names_dataset
        else:
            if not (default_graph_uris or named_graph_uris):
                answer = prefetched(query)
                if answer is not None:
                    return answer
            pool, text, names_dataset, client = self.service_pool, query, False, None
        names_dataset = names_dataset or bool(default_graph_uris or named_graph_uris)
        arguments = {
            "default_graph_uris": default_graph_uris,
            "named_graph_uris": named_graph_uris,
            "limit": self.result_limit,
            "union_default_graph": not names_dataset,
        }
        try:
            return pool.run(run_query, request_deadline(), client=client, sparql=text, **arguments)
        except EngineFailed:
            if not isinstance(query, ParsedQuery) or query.unordered is None:
                raise
            # The engine's sort is not a total order on some data (docs/upstream/): order the
            # solutions here, by SPARQL 1.1 section 15.1, then apply OFFSET and LIMIT.
            return self._ordered_apart(query, pool, client, arguments)

    def prefetch(self, texts: list[str]) -> None:
        """Evaluate the service's queries ``texts`` in one call to an evaluator, for this request.

        A page that will ask several queries whose texts it knows at once asks them here; each
        is then answered from what this call brought back (``query``), without a round trip
        of its own. One that failed, or all of them when one killed the evaluator, are
        evaluated again when asked, and report their own errors then; past the request's
        deadline the call raises QueryTimeout, as the queries asked one by one would.
        """
        wanted = [text for text in dict.fromkeys(texts) if prefetched(text) is None]
        if not wanted:
            return
        try:
            answers = self.service_pool.run(
                run_queries,
                request_deadline(),
                texts=wanted,
                limit=self.result_limit,
                union_default_graph=True,
            )
        except EngineFailed:  # one of them killed the evaluator: asked alone, it is named
            return
        keep_prefetched(zip(wanted, answers, strict=True))

    def _ordered_apart(
        self, query: ParsedQuery, pool: EvaluatorPool, client: str | None, arguments: dict
    ) -> QueryResult:
        """Answer a query whose ORDER BY killed the engine: unordered, then ordered here."""
        unordered = pool.run(
            run_query, request_deadline(), client=client, sparql=query.unordered, **arguments
        )
        keys = [(key.variable, key.descending) for key in query.order_keys]
        if unordered.truncated or any(v not in unordered.variables for v, _ in keys):
            raise EngineFailed(
                "the engine failed on this query's ORDER BY, and its solutions cannot be "
                "ordered apart from it (they pass the result limit, or it orders by a "
                "variable the query does not return)"
            )
        rows = order_rows(unordered.rows, unordered.variables, keys)
        end = None if query.limit is None else query.offset + query.limit
        unordered.rows = rows[query.offset : end]
        return unordered

    def reading_pool(self) -> EvaluatorPool:
        """Return the evaluators that read long client queries: the clients' own."""
        return self.client_pool

    def quads(self) -> list[ox.Quad]:
        """Return every quad of the store, sorted by graph then quad.

        These are the quads as the store holds them: a literal of a datatype Oxigraph
        rewrites (``xsd:nonNegativeInteger`` is stored as ``xsd:integer``) comes back
        rewritten, whatever the files said. The shipped data uses no such datatype.
        """
        deadline = time.monotonic() + max(self.timeout, BULK_TIMEOUT)
        return self.service_pool.run(all_quads, deadline)

    def statistics(self) -> dict:
        """Return the VoID statistics, counted by SPARQL aggregates in a service evaluator.

        A built store never changes: the figures are counted when it is built and saved
        beside it (``STATISTICS_FILE``), so every web process and every restart over the same
        store reads them (a million triples take some seconds to count). A store built
        without them has them counted here, once.
        """
        if self._statistics is not None:
            return self._statistics
        refuse_while_being_finished(self.path, STATISTICS)
        try:
            figures = statistics.loads((self.path / STATISTICS_FILE).read_text())
        except (OSError, ValueError, KeyError):
            deadline = time.monotonic() + max(self.timeout, BULK_TIMEOUT)
            figures = self.service_pool.run(statistics.from_store, deadline)
            save_statistics(self.path, figures)
        self._statistics = figures
        return figures

    def class_members(
        self, cls: str, start: int, count: int, descending: bool = False
    ) -> list[str] | None:
        """Return a page of a large class's members, sorted by IRI, as saved at build time.

        None for a class not listed (a small one, or a store built without the lists).
        """
        return read_class_members(self.path, cls, start, count, descending)

    def dump(self, fmt: RdfSerialization, output: IO[bytes]) -> None:
        """Write the whole dataset in ``fmt`` to ``output``: the bytes `zigraph export` writes.

        The store is read here, not in an evaluator: no query is evaluated, and the writer
        sorts on disk in bounded memory, where a list of every quad sent back by an evaluator
        overran its heap at a million triples.
        """
        store = ox.Store.read_only(str(self.path))
        try:
            export.write_dataset(store, fmt, output)
        finally:
            del store

    def health(self) -> dict:
        """Return the store's state: kind, triple count, dataset version, isolation, and what
        is still being made from it.

        An evaluator must answer; the count is the built store's (it cannot change), where
        counting again cost every health check half a second at a million triples.
        """
        metadata = self.metadata()
        answered = self.service_pool.run(answers, request_deadline())
        return {
            "store": self.name,
            "triples": metadata["triples"] if answered else 0,
            "version": metadata.get("version"),
            "evaluators": {
                "isolation": self.isolation,
                "network": "available" if self.isolation == "none" else "none",
            },
            # Parts still being made after the load: pages that need them answer 503 until then.
            "making": [p for p in PART_NAMES if being_finished(self.path, p)],
        }

    def pids(self) -> list[int]:
        """Return the process ids of every evaluator."""
        return self.service_pool.pids() + self.client_pool.pids()

    def close(self) -> None:
        """Stop the evaluator processes."""
        self.service_pool.close()
        self.client_pool.close()
