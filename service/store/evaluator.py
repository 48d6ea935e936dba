"""Evaluate queries in separate processes, so a runaway or crashing query costs one process.

Each web process keeps a small pool of evaluator processes. An evaluator opens the
read-only store once, then answers requests sent over a pipe. The web process waits for
an answer at most the query time limit; past it, the evaluator is killed (SIGKILL: the
query stops using CPU at once) and a fresh one is started. An evaluator that dies on its
own (a crash, or a query needing more than the evaluator's memory cap) is noticed through
the closed pipe and replaced as well.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from service import errors
from service.errors import (
    BackendUnavailable,
    EndpointBusy,
    EvaluatorCrashed,
    QuerySyntaxError,
    QueryTimeout,
    ZigraphError,
)

log = logging.getLogger(__name__)
STARTUP_TIMEOUT = 60.0  # seconds an evaluator may take to open the store
PARSER_RECURSION_LIMIT = 60_000


def _context() -> multiprocessing.context.BaseContext:
    # forkserver: evaluators fork from a clean single-threaded server that has imported
    # pyoxigraph already (fast start, no threads of the web process inherited).
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(
            ["pyoxigraph", "service.store.evaluator", "service.querysafety"]
        )
        return context
    return multiprocessing.get_context("spawn")


def _operations() -> dict[str, Callable]:
    from service.querysafety import parse_and_check
    from service.store.embedded import run_query

    def check(store, sparql):
        return parse_and_check(sparql)

    def quads(store):
        return sorted(store, key=lambda q: (str(q.graph_name), str(q)))

    def count(store):
        return len(store)

    return {"query": run_query, "quads": quads, "count": count, "check": check}


def limit_memory(megabytes: int | None) -> None:
    """Cap this process's heap, so a query that needs too much memory ends this process only."""
    if not megabytes:
        return
    import resource

    cap = megabytes * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))


def evaluator_main(
    connection: Connection, store_dir: str | None, memory_mb: int | None = None
) -> None:
    """Open the store read-only (if any), then answer requests until the pipe closes.

    Without a store the process only checks queries ("check"): parsing an abusive query can
    take long or recurse deeply, and here it can be stopped like an evaluation.
    """
    import sys

    import pyoxigraph as ox

    limit_memory(memory_mb)
    # The SPARQL grammar recurses once per nested group or triple pattern; the time limit,
    # not Python's default depth of 1000, should be what stops a large query.
    sys.setrecursionlimit(PARSER_RECURSION_LIMIT)
    store = None
    if store_dir is not None:
        try:
            store = ox.Store.read_only(store_dir)
        except OSError as error:
            connection.send(("unavailable", str(error)))
            return
    operations = _operations()
    connection.send(("ready", os.getpid()))
    while True:
        try:
            operation, arguments = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer = ("ok", operations[operation](store, **arguments))
        except SyntaxError as error:
            answer = ("syntax", str(error))
        except ZigraphError as error:  # a refusal: sent back to be raised in the web process
            answer = ("refused", (type(error).__name__, error.message, error.details))
        except Exception as error:  # the process boundary reports every failure
            answer = ("error", f"{type(error).__name__}: {error}")
        connection.send(answer)


class Evaluator:
    """One evaluator process and the parent's end of its pipe."""

    def __init__(
        self,
        context: multiprocessing.context.BaseContext,
        store_dir: str | None,
        memory_mb: int | None = None,
    ) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=evaluator_main,
            args=(child, store_dir, memory_mb),
            daemon=True,
            name="zigraph-evaluator",
        )
        self.process.start()
        child.close()  # so that the parent sees EOF when the evaluator dies
        self.ready = False

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def wait_ready(self) -> None:
        """Wait for the evaluator's greeting, raising when it cannot open the store."""
        if self.ready:
            return
        if not self.connection.poll(STARTUP_TIMEOUT):
            raise BackendUnavailable("the query evaluator did not start in time")
        try:
            status, detail = self.connection.recv()
        except (EOFError, OSError):
            raise EvaluatorCrashed(self._death_note("while starting")) from None
        if status != "ready":
            # The detail names server paths: it goes to the log, not to the client.
            log.error("the query evaluator cannot open the store: %s", detail)
            raise BackendUnavailable("the store cannot be opened; the server log says why")
        self.ready = True

    def kill(self) -> None:
        """Stop the process at once and reap it."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.connection.close()

    def _death_note(self, when: str) -> str:
        self.process.join(1)
        code = self.process.exitcode
        if code is not None and code < 0:
            import signal

            try:
                cause = f"signal {signal.Signals(-code).name}"
            except ValueError:
                cause = f"signal {-code}"
        else:
            cause = f"exit status {code}"
        return f"the query evaluator died {when} ({cause}); a new one has been started"


class EvaluatorPool:
    """A few evaluator processes over one store, each serving one request at a time."""

    def __init__(self, store_dir: Path | None, size: int = 2, memory_mb: int | None = None) -> None:
        self.store_dir = str(store_dir) if store_dir is not None else None
        self.size = max(1, size)
        self.memory_mb = memory_mb
        self._context = _context()
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._idle: list[Evaluator] = []
        self._busy: set[Evaluator] = set()
        self._closed = False

    def busy_pids(self) -> list[int]:
        """Return the process ids of evaluators running a request now."""
        with self._lock:
            return [e.pid for e in self._busy if e.pid is not None]

    def pids(self) -> list[int]:
        """Return the process ids of every evaluator of the pool."""
        with self._lock:
            return [e.pid for e in [*self._idle, *self._busy] if e.pid is not None]

    def run(self, operation: str, timeout: float, **arguments: object) -> object:
        """Run one operation in an evaluator and return its answer.

        :param timeout: seconds the evaluation may take; past it the evaluator is killed
            and QueryTimeout raised.
        """
        if self._closed:
            raise BackendUnavailable("the store has been closed")
        if not self._slots.acquire(timeout=timeout):
            raise EndpointBusy("every query evaluator stayed busy for the whole time limit")
        try:
            evaluator = self._take()
            healthy = False
            try:
                evaluator.wait_ready()
                status, detail = self._ask(evaluator, operation, arguments, timeout)
                healthy = True
            finally:
                if healthy:
                    self._give_back(evaluator)
                else:
                    self._discard(evaluator)
        finally:
            self._slots.release()
        if status == "ok":
            return detail
        if status == "syntax":
            raise QuerySyntaxError(detail)
        if status == "refused":
            name, message, details = detail
            raise getattr(errors, name)(message, **details)
        raise ZigraphError(f"the query could not be evaluated: {detail}")

    def _ask(
        self, evaluator: Evaluator, operation: str, arguments: dict, timeout: float
    ) -> tuple[str, object]:
        try:
            evaluator.connection.send((operation, arguments))
            if not evaluator.connection.poll(timeout):
                raise QueryTimeout(
                    f"the query ran longer than the time limit of {timeout:g} s and was stopped"
                )
            return evaluator.connection.recv()
        except (EOFError, OSError):
            raise EvaluatorCrashed(evaluator._death_note("during the query")) from None

    def _take(self) -> Evaluator:
        with self._lock:
            evaluator = self._idle.pop() if self._idle else None
        if evaluator is None or not evaluator.process.is_alive():
            if evaluator is not None:
                evaluator.kill()
            evaluator = Evaluator(self._context, self.store_dir, self.memory_mb)
        with self._lock:
            self._busy.add(evaluator)
        return evaluator

    def _give_back(self, evaluator: Evaluator) -> None:
        with self._lock:
            self._busy.discard(evaluator)
            self._idle.append(evaluator)

    def _discard(self, evaluator: Evaluator) -> None:
        """Kill a failed evaluator and start its replacement, so the next query need not wait."""
        evaluator.kill()
        with self._lock:
            self._busy.discard(evaluator)
            if not self._closed:
                self._idle.append(Evaluator(self._context, self.store_dir, self.memory_mb))

    def close(self) -> None:
        """Stop every evaluator."""
        with self._lock:
            self._closed = True
            evaluators = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
        for evaluator in evaluators:
            evaluator.kill()
