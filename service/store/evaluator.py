"""Run functions over the read-only store in evaluator processes that have no network.

An evaluator is a process that opens the store once and then runs the functions it is sent
(``function(store, **arguments)``, named by reference, so any module-level function will
do) one at a time, over a pipe. Before it opens the store it:

- takes its own network away (``service.store.isolation``), so nothing it runs can connect;
- asks the kernel to kill it when its parent dies (parent-death signal), so no evaluator
  outlives its web process;
- lowers its CPU priority when it runs clients' queries, so the web processes and the
  service's own evaluators stay ahead of them on a busy machine;
- caps its heap, so a query needing too much memory ends this process only, and lets its
  stack grow for the parser's recursion over long queries.

Each call has a deadline. The parent waits for the answer until then and kills the
evaluator past it (SIGKILL: the CPU is free at once); the evaluator also arms a real-time
alarm for the same deadline whose default action ends the process, so the limit holds even
when the parent is gone. A dead evaluator is replaced by a fresh one.

An evaluator that ends itself during a call (an abort, a segmentation fault: the engine's
panic, its memory cap) failed on that call, and would again: the pool remembers a digest of
the call (function and arguments; a pool serves one built store, which never changes, so this
is per data version) and refuses it at once from then on, with ``EngineFailed``, rather than
lose another evaluator and another store opening to it. A death by SIGKILL or SIGTERM came
from outside (an operator, the kernel's out-of-memory killer) and is not held against the call.

Why not a pool library: pebble's ProcessPool does most of this, but measured here a call
through it costs 0.4 ms against 0.025 ms for a pipe round trip; by its source, its workers
stop on a Python-level SIGTERM handler, which cannot run while a call into the engine is in
progress (a timed-out query would go on until pebble's SIGKILL 3 s later); and it has no way
to refuse work at once when full.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from cachetools import LRUCache

from service import errors
from service.errors import (
    BackendUnavailable,
    EngineFailed,
    EvaluatorCrashed,
    QuerySyntaxError,
    QueryTimeout,
    ZigraphError,
)
from service.store.admission import Admission

log = logging.getLogger(__name__)
STARTUP_TIMEOUT = 60.0  # seconds an evaluator may take to open the store
ALARM_GRACE = 1.0  # seconds past the deadline before an evaluator's own alarm ends it
# Oxigraph's parser recurses once per triple pattern (about 0.5 kB of stack each): with the
# usual 8 MB a flat query of 16,000 patterns overflowed the stack. 256 MB of (virtual) stack
# covers the largest body the endpoint accepts.
STACK_MB = 256
# Deaths an evaluator brings on itself by running a call; any other is not the call's doing.
SELF_INFLICTED = frozenset(
    {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGSYS}
)
CRASH_MEMORY = 256  # calls that crashed an evaluator, remembered per pool
# An evaluator opens the store itself, and the storage engine's caches grow in it with what
# its queries read (20 MiB at start, about 90 after a scan of a million triples; pyoxigraph
# has no setting for them), kept while it idles. An idle evaluator grown by more than this
# since it started is replaced by a fresh one (EvaluatorPool.recycle_idle).
RECYCLE_GROWTH_KIB = 32 * 1024
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
Answer = TypeVar("Answer")


# The memory allocator the evaluators run with. The storage engine allocates and frees all the
# time, and the C library's malloc is slow at it: in pyoxigraph at a million triples, by hand,
# the aggregate took 107 ms with mimalloc, 116 with jemalloc and 135 with the C library's (its
# tunables did not help), the join + ORDER BY 140, 138 and 157 ms; through zigraph at c8 the
# aggregate's median was 500 ms with mimalloc against 900. Peak memory moved little (916
# against 903 MiB; jemalloc 958). It is preloaded into the forkserver, so every evaluator
# forked from it has it; the web processes keep the C library's. ``preload_allocator`` sets
# it, from ZIGRAPH_EVALUATOR_ALLOCATOR; ``auto`` takes the first of these the machine has.
ALLOCATORS = ("libmimalloc.so.2", "libjemalloc.so.2")  # Debian: libmimalloc2.0, libjemalloc2
_allocator: str | None = None
_forkserver_lock = threading.Lock()


def find_allocator(name: str) -> str | None:
    """Return the path of the allocator a setting names, or None for the C library's.

    ``auto``: mimalloc, else jemalloc, where the machine has it; ``system``: none; any other
    value is a shared library's path, which must exist.
    """
    import sysconfig

    if name == "system":
        return None
    if name != "auto":
        if not Path(name).is_file():
            raise BackendUnavailable(f"ZIGRAPH_EVALUATOR_ALLOCATOR: {name} is not a file")
        return name
    triplet = sysconfig.get_config_var("MULTIARCH") or ""
    for library in ALLOCATORS:
        for folder in (f"/usr/lib/{triplet}", "/usr/lib64", "/usr/lib", "/usr/local/lib"):
            if Path(folder, library).is_file():
                return str(Path(folder, library))
    return None


def allocator_name(path: str | None) -> str:
    """Return how ``zigraph serve`` and the bench name an allocator ``find_allocator`` found."""
    return Path(path).name if path else "the C library's malloc"


def preload_allocator(path: str | None) -> None:
    """Have evaluators started from now on run with the allocator at ``path`` (None: the C
    library's). Takes effect when the forkserver starts: call before the first evaluator."""
    global _allocator
    _allocator = path


def _start_forkserver() -> None:
    """Start the forkserver, if it is not running, with the allocator preloaded.

    The variable is set in this process's environment only while the forkserver is started
    (multiprocessing starts it with this environment), under a lock.
    """
    if _allocator is None:
        return
    from multiprocessing import forkserver

    with _forkserver_lock:
        before = os.environ.get("LD_PRELOAD")
        os.environ["LD_PRELOAD"] = f"{_allocator} {before}" if before else _allocator
        try:
            forkserver.ensure_running()
        finally:
            if before is None:
                del os.environ["LD_PRELOAD"]
            else:
                os.environ["LD_PRELOAD"] = before


def _context() -> multiprocessing.context.ForkServerContext:
    # forkserver: evaluators fork from a clean single-threaded server that has imported
    # pyoxigraph already (fast start, no threads of the web process inherited, and a
    # single-threaded child is what unshare() needs).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pyoxigraph", "service.store.embedded"])
    return context


def release_forkserver() -> None:
    """Close this process's copy of the forkserver's keep-alive pipe.

    The forkserver exits when every holder of that pipe has closed it, and multiprocessing
    hands a copy to each process it forks. Were an evaluator to keep its copy, the forkserver
    (its parent) would outlive a killed web process, and so the parent-death signal that ends
    the evaluator would never come.
    """
    from multiprocessing import forkserver

    server = forkserver._forkserver  # the module's one instance; its attribute is private
    alive = getattr(server, "_forkserver_alive_fd", None)
    if alive is not None:
        os.close(alive)
        setattr(server, "_forkserver_alive_fd", None)  # noqa: B010 (private: not in the stubs)


def raise_stack_limit(megabytes: int) -> None:
    """Let this process's main stack grow to ``megabytes`` (the hard limit permitting)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    wanted = megabytes * 2**20
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_STACK, (wanted, hard))


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
    connection: Connection,
    store_dir: str | None,
    isolation: str,
    niceness: int = 0,
    memory_mb: int | None = None,
) -> None:
    """Isolate this process, open the store read-only, then run calls until the pipe closes."""
    import pyoxigraph as ox

    from service.store.isolation import die_with_parent, isolate

    release_forkserver()
    parent = os.getppid()
    try:
        isolate(isolation)
    except OSError as error:
        connection.send(("unavailable", f"cannot isolate the evaluator ({isolation}): {error}"))
        return
    # After isolate(): a change of credentials (the new user namespace) may clear the setting.
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the kernel was asked
        return
    if niceness:
        os.nice(niceness)
    limit_memory(memory_mb)
    raise_stack_limit(STACK_MB)
    try:  # a pool without a store reads queries only
        store = ox.Store.read_only(store_dir) if store_dir else None
    except OSError as error:
        connection.send(("unavailable", str(error)))
        return
    connection.send(("ready", os.getpid()))
    while True:
        try:
            function, arguments, seconds = connection.recv()
        except (EOFError, OSError):
            return
        signal.setitimer(signal.ITIMER_REAL, seconds + ALARM_GRACE)  # SIGALRM ends us
        try:
            answer = ("ok", function(store, **arguments))
        except SyntaxError as error:
            answer = ("syntax", str(error))
        except ZigraphError as error:  # a refusal: sent back to be raised in the web process
            answer = ("refused", (type(error).__name__, error.message, error.details))
        except Exception as error:  # the process boundary reports every failure
            answer = ("error", f"{type(error).__name__}: {error}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        connection.send(answer)


class Evaluator:
    """One evaluator process and the parent's end of its pipe."""

    def __init__(self, pool: EvaluatorPool) -> None:
        _start_forkserver()
        self.connection, child = pool._context.Pipe()
        self.process = pool._context.Process(
            target=evaluator_main,
            args=(child, pool.store_dir, pool.isolation, pool.niceness, pool.memory_mb),
            daemon=True,
            name="zigraph-evaluator",
        )
        self.process.start()
        child.close()  # so that the parent sees EOF when the evaluator dies
        self.ready = False
        self.started_kib: int | None = None  # its own memory once it had opened the store
        self.idle_since = time.monotonic()

    def own_kib(self) -> int | None:
        """Return the memory the process holds alone (resident, not shared with another
        process), KiB; None when it cannot be read."""
        try:
            with open(f"/proc/{self.pid}/statm") as statm:
                fields = statm.read().split()
            return (int(fields[1]) - int(fields[2])) * PAGE_KIB
        except (OSError, ValueError, IndexError):
            return None

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
            log.error("the query evaluator cannot start: %s", detail)
            raise BackendUnavailable("the store cannot be opened; the server log says why")
        self.ready = True
        self.started_kib = self.own_kib()

    def kill(self) -> None:
        """Stop the process at once and reap it."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.connection.close()

    def _death_note(self, when: str) -> str:
        return (
            f"the query evaluator died {when} ({self.cause_of_death()}); a new one has been started"
        )

    def cause_of_death(self) -> str:
        """Return how the process ended: "signal SIGABRT", "exit status 1"."""
        self.process.join(1)
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit status {code}"

    def ended_itself(self) -> bool:
        """Return whether the process died of what it ran (an abort, a fault, an exit)."""
        self.process.join(1)
        code = self.process.exitcode
        return code is not None and (code > 0 or -code in SELF_INFLICTED)


class EvaluatorPool:
    """A few evaluator processes over one store, each running one call at a time.

    :param waiting: calls that may wait for a free evaluator; past them a call is refused at
        once (``EndpointBusy``, 503). None: any number wait, each until its deadline.
    :param per_client: calls one client address may have running or waiting; past them
        ``TooManyQueries`` (429). None: no such bound.
    :param crash_memory: how many calls that killed their evaluator are remembered and
        refused at once (least recently tried forgotten first); 0: none.
    :param idle_seconds: after this long idle, an evaluator that grew past
        RECYCLE_GROWTH_KIB is replaced by a fresh one, but for the one used last; 0: never.
    """

    def __init__(
        self,
        store_dir: Path | None,
        *,
        size: int = 2,
        isolation: str = "netns",
        niceness: int = 0,
        memory_mb: int | None = None,
        waiting: int | None = None,
        per_client: int | None = None,
        crash_memory: int = CRASH_MEMORY,
        idle_seconds: float = 0,
    ) -> None:
        self.store_dir = str(store_dir) if store_dir else None
        self.size = max(1, size)
        self.isolation = isolation
        self.niceness = niceness
        self.memory_mb = memory_mb
        self.admission = Admission(self.size, waiting=waiting, per_client=per_client)
        self._context = _context()
        self._lock = threading.Lock()
        self._idle: list[Evaluator] = []
        self._busy: set[Evaluator] = set()
        # digest of a call -> how its evaluator died
        self._failed: LRUCache[bytes, str] | None = (
            LRUCache(maxsize=crash_memory) if crash_memory > 0 else None
        )
        self._closed = False
        self.replaced = 0  # evaluators started in place of one killed or found dead
        self.idle_seconds = idle_seconds
        self.recycled = 0  # evaluators started in place of one that idled grown
        self._stopping = threading.Event()
        self._recycler: threading.Thread | None = None

    def start(self) -> None:
        """Start every evaluator now, so the first requests do not wait for one to boot, and
        the thread that recycles idle ones (see ``idle_seconds``)."""
        with self._lock:
            missing = self.size - len(self._idle) - len(self._busy)
        started = [Evaluator(self) for _ in range(max(0, missing))]
        with self._lock:
            self._idle[:0] = started
            recycler = None
            if self.idle_seconds > 0 and self._recycler is None and not self._closed:
                recycler = self._recycler = threading.Thread(
                    target=self._recycle_while_open, name="zigraph-recycler", daemon=True
                )
        if recycler is not None:
            recycler.start()

    def _recycle_while_open(self) -> None:
        while not self._stopping.wait(self.idle_seconds / 2):
            try:
                self.recycle_idle()
            except Exception:  # never let the thread die: the next round tries again
                log.exception("recycling idle evaluators failed")

    def recycle_idle(self) -> int:
        """Replace each evaluator idle for ``idle_seconds`` that grew past RECYCLE_GROWTH_KIB
        since it started, but the one used last (the next call takes it, caches warm); return
        how many were replaced. The storage engine's caches in the process go back to the
        machine; its replacement opens the store with cold ones.
        """
        now = time.monotonic()
        with self._lock:
            # _idle is kept in the order of last use: the next call takes its end.
            candidates = [
                evaluator
                for evaluator in self._idle[:-1]
                if evaluator.ready and now - evaluator.idle_since >= self.idle_seconds
            ]
        grown = []
        for evaluator in candidates:
            own = evaluator.own_kib()
            if own is not None and own - (evaluator.started_kib or own) > RECYCLE_GROWTH_KIB:
                grown.append(evaluator)
        replaced = []
        with self._lock:
            for evaluator in grown:
                if self._closed or evaluator not in self._idle[:-1]:
                    continue  # taken meanwhile, or now the one used last
                self._idle.remove(evaluator)
                self._idle.insert(0, Evaluator(self))  # used last of all: its caches are cold
                replaced.append(evaluator)
        for evaluator in replaced:
            evaluator.kill()
        with self._lock:  # counted once killed and reaped
            self.recycled += len(replaced)
        return len(replaced)

    def busy_pids(self) -> list[int]:
        """Return the process ids of evaluators running a call now."""
        with self._lock:
            return [e.pid for e in self._busy if e.pid is not None]

    def pids(self) -> list[int]:
        """Return the process ids of every evaluator of the pool."""
        with self._lock:
            return [e.pid for e in [*self._idle, *self._busy] if e.pid is not None]

    def run(
        self,
        function: Callable[..., Answer],
        deadline: float,
        client: str | None = None,
        **arguments: object,
    ) -> Answer:
        """Run ``function(store, **arguments)`` in an evaluator and return its answer.

        :param deadline: ``time.monotonic()`` by which the answer must be back, waiting for
            an evaluator included; past it the evaluator is killed and QueryTimeout raised.
        :param client: the address the call is made for, counted against ``per_client``.
        """
        if self._closed:
            raise BackendUnavailable("the store has been closed")
        # Digested only while some call is remembered: most pools never lose an evaluator.
        call = self._digest(function, arguments) if self._failed else None
        self._refuse_if_failed_before(call)
        try:
            with self.admission.slot(deadline, client):
                status, detail = self._run_in_evaluator(function, arguments, deadline)
        except EngineFailed as failure:
            call = call or self._digest(function, arguments)
            if call is not None and self._failed is not None:
                with self._lock:
                    self._failed[call] = str(failure.details["cause"])
            raise
        if status == "ok":
            return detail
        if status == "syntax":
            raise QuerySyntaxError.from_engine(detail)
        if status == "refused":
            name, message, details = detail
            raise getattr(errors, name)(message, **details)
        raise ZigraphError(f"the query could not be evaluated: {detail}")

    def _digest(self, function: Callable, arguments: dict) -> bytes | None:
        """Return what identifies a call in the crash memory (None: no memory kept)."""
        if self._failed is None:
            return None
        # Pickle, not repr: two different calls never pickle alike (arguments are pickled to
        # reach the evaluator anyway); equal calls that pickle differently are only a miss.
        call = (function.__module__, function.__qualname__, sorted(arguments.items()))
        return hashlib.sha256(pickle.dumps(call, protocol=5)).digest()

    def _refuse_if_failed_before(self, call: bytes | None) -> None:
        if call is None or self._failed is None:
            return
        with self._lock:
            cause = self._failed.get(call)
        if cause is not None:
            raise EngineFailed(
                f"the engine failed on this query: it killed its evaluator before ({cause}), "
                "so it was not run again",
                cause=cause,
            )

    def _run_in_evaluator(
        self, function: Callable, arguments: dict, deadline: float
    ) -> tuple[str, Any]:
        evaluator = self._take()
        healthy = False
        try:
            booting = time.monotonic()
            evaluator.wait_ready()
            # An evaluator's boot (after a crash, a kill or at start) is the service's cost,
            # not the query's: the query still gets the time it had left.
            deadline += time.monotonic() - booting
            seconds = deadline - time.monotonic()
            if seconds <= 0:
                raise QueryTimeout("the time limit was reached before the query could start")
            try:
                evaluator.connection.send((function, arguments, seconds))
                if not evaluator.connection.poll(seconds):
                    raise QueryTimeout(
                        "the query ran past the time limit and was stopped "
                        f"(the limit covers the whole request: {seconds:.3g} s were left)"
                    )
                answer = evaluator.connection.recv()
            except (EOFError, OSError):
                if evaluator.ended_itself():
                    cause = evaluator.cause_of_death()
                    raise EngineFailed(
                        f"the engine failed on this query: its evaluator died ({cause}); "
                        "a new one has been started",
                        cause=cause,
                    ) from None
                raise EvaluatorCrashed(evaluator._death_note("during the query")) from None
            healthy = True
            return answer
        finally:
            if healthy:
                self._give_back(evaluator)
            else:
                self._discard(evaluator)

    def _take(self) -> Evaluator:
        with self._lock:
            evaluator = self._idle.pop() if self._idle else None
        dead = evaluator is not None and not evaluator.process.is_alive()
        if evaluator is None or dead:
            if evaluator is not None:
                evaluator.kill()
            evaluator = Evaluator(self)
        with self._lock:
            self._busy.add(evaluator)
            self.replaced += dead
        return evaluator

    def _give_back(self, evaluator: Evaluator) -> None:
        evaluator.idle_since = time.monotonic()
        with self._lock:
            self._busy.discard(evaluator)
            self._idle.append(evaluator)

    def _discard(self, evaluator: Evaluator) -> None:
        """Kill a failed evaluator and start its replacement, so the next call need not wait."""
        evaluator.kill()
        with self._lock:
            self._busy.discard(evaluator)
            if not self._closed:
                self._idle.insert(0, Evaluator(self))  # cold: taken after the warm ones
                self.replaced += 1

    def close(self) -> None:
        """Stop every evaluator."""
        self._stopping.set()
        with self._lock:
            self._closed = True
            evaluators = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
        for evaluator in evaluators:
            evaluator.kill()
