"""Benchmark zigraph's SPARQL endpoint against peer SPARQL servers on the same generated data.

Each server is started on its own free 127.0.0.1 port with the same N-Quads, waited for, sent
the same query mix through the SPARQL 1.1 Protocol at concurrency 1 and 8, and stopped; zigraph
also serves entity pages never visited before. The figures, with issue 10's targets, go to
``bench/results/latest.md`` and ``bench/results/latest.json``.

    python bench/run.py --scale 1M --duration 3 --concurrency 1,8   (make bench)
    python bench/run.py --scale 10k --duration 2 --servers zigraph,oxigraph
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import generate  # noqa: E402  (bench/generate.py, beside this file)

from service.namespaces import GRAPH_BASE, ID_BASE, SKOS, ZI  # noqa: E402

RESULTS = BENCH / "results"
PEERS_VENV = BENCH / ".venv-peers"
PROJECT_BIN = Path(sys.executable).parent
RDFLIB_ENDPOINT = "rdflib-endpoint[cli]==0.6.3"
SERVER_TIMEOUT = 5  # seconds each server is configured to allow one query
CLIENT_TIMEOUT = 20  # seconds the client waits for any answer
MAX_REQUESTS = 20_000  # per measurement, whatever the duration
SELECT_TYPE = "application/sparql-results+json"
GRAPH_TYPE = "text/turtle"
CACHE_HEADER = "X-Zigraph-Cache"
# The `zigraph` command of the virtualenv imports this checkout's code, not the one the
# virtualenv was installed from (a worktree measures itself, the commit the report names).
CHECKOUT_FIRST = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

PREFIXES = (
    f"PREFIX zi: <{ZI}>\nPREFIX skos: <{SKOS}>\nPREFIX designation: <{ID_BASE}designation/>\n"
)


@dataclass(frozen=True)
class Query:
    """One query of the mix: its name, what it exercises and its text."""

    name: str
    about: str
    text: str
    graph: bool = False  # CONSTRUCT/DESCRIBE: the answer is RDF
    runaway: bool = False  # expected to be stopped by the server's time limit


def query_mix(samples: dict) -> list[Query]:
    """Return the query mix, naming entities that exist in the generated data."""
    agency = samples["agency"]
    city = samples["city_name"]
    return [
        Query(
            "lookup",
            "every property of one agency, by IRI",
            f"SELECT ?p ?o WHERE {{ <{agency}> ?p ?o }}",
        ),
        Query(
            "label_search",
            "FILTER + case-insensitive regex over every preferred label",
            PREFIXES + "SELECT ?s ?label WHERE { ?s skos:prefLabel ?label . "
            f'FILTER(LANG(?label) = "id" && REGEX(?label, "kota {city.lower()}$", "i")) }}',
        ),
        Query(
            "aggregate",
            "conferrals counted per designation per year (GROUP BY, ORDER BY)",
            PREFIXES + "SELECT ?designation ?year (COUNT(?c) AS ?n) WHERE { "
            "?c a zi:DesignationConferral ; zi:designation ?designation ; zi:assessmentYear ?year "
            "} GROUP BY ?designation ?year ORDER BY ?designation ?year",
        ),
        Query(
            "join_order",
            "WBBM conferral -> recipient -> label, ORDER BY date LIMIT 20",
            PREFIXES + "SELECT ?c ?date ?label WHERE { ?c a zi:DesignationConferral ; "
            "zi:designation designation:wbbm ; zi:conferralDate ?date ; zi:recipient ?a . "
            '?a skos:prefLabel ?label FILTER(LANG(?label) = "id") } '
            "ORDER BY DESC(?date) ?label LIMIT 20",
        ),
        Query(
            "construct",
            "CONSTRUCT one agency and the conferrals it received",
            PREFIXES + f"CONSTRUCT {{ <{agency}> ?p ?o . ?c ?cp ?co }} WHERE {{ "
            f"{{ <{agency}> ?p ?o }} UNION {{ ?c zi:recipient <{agency}> ; ?cp ?co }} }}",
            graph=True,
        ),
        Query(
            "runaway",
            "a three-way cross product of every triple, counted: must be stopped by a timeout",
            "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }",
            runaway=True,
        ),
    ]


# ---------------------------------------------------------------- processes and memory


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now.

    It is taken below the kernel's range of ports for outgoing connections: a port from that
    range was taken by some client's connection while rdflib-endpoint loaded the data for two
    minutes, and the server could not bind it.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = random.randint(max(1024, low - 12000), max(1025, low - 1))
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parent_of(pid: int) -> int | None:
    """Return the parent of a process, None when it is gone."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def process_tree(root: int) -> list[int]:
    """Return ``root`` and every process descending from it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (parent := parent_of(int(entry))) is not None:
            children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_memory(root: int) -> tuple[int, int]:
    """Return the resident and the proportional memory (RSS, PSS) in bytes of a process tree.

    RSS counts a page shared by several processes (the store's files, copy-on-write pages of
    forked workers) once in each of them, so a sum of RSS overstates a tree of processes;
    PSS divides each shared page among the processes that map it, so PSS sums to what the
    tree really holds. Both come from ``/proc/PID/smaps_rollup``.
    """
    rss = pss = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return rss, pss


class MemorySampler(threading.Thread):
    """Sample a process tree's memory four times a second from its launch; keep the peaks."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_rss = 0
        self.peak_pss = 0
        self.stopped = threading.Event()

    def sample(self) -> tuple[int, int]:
        rss, pss = tree_memory(self.root)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        return rss, pss

    def run(self) -> None:
        while not self.stopped.wait(0.25):
            self.sample()

    def stop(self) -> None:
        self.stopped.set()
        self.join()
        self.sample()


def mib(size: int) -> float:
    return round(size / 2**20, 1)


def stop_process(process: subprocess.Popen) -> None:
    """Stop a server started in its own session: SIGTERM to its group, then SIGKILL."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_quietly(command: list[str], log: Path, timeout: float | None = None) -> tuple[int, int]:
    """Run a preparation command, its output to ``log``; return its peak RSS and PSS.

    Raise with the log's tail when it fails.
    """
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        sampler = MemorySampler(process.pid)
        sampler.start()
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = "timeout"
        finally:
            sampler.stop()
    if code:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(command)} failed ({code}):\n{tail}")
    return sampler.peak_rss, sampler.peak_pss


# ---------------------------------------------------------------- servers


@dataclass
class Server:
    """A SPARQL server under test: how to prepare its data, start it and reach it."""

    name: str
    path: str  # the query endpoint's path
    version: str = ""
    loads_at_start: bool = False  # the data is parsed by the server process as it starts
    notes: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def available(self) -> str | None:
        """Return why the server cannot run here, or None."""
        return None

    def prepare(self, data: Path, workdir: Path) -> tuple[int, int]:
        """Load the data ahead of starting, when the server needs a separate step; return
        the peak RSS and PSS of that step."""
        return 0, 0

    def engine_floor(self, workdir: Path, queries: list[Query], seconds: float) -> dict:
        """Return the median ms of each query evaluated in this process, without HTTP."""
        return {}

    def command(self, data: Path, workdir: Path, port: int) -> list[str]:
        raise NotImplementedError

    def after_start(self, port: int, workdir: Path) -> None:
        """Load the data once the server runs, when it can only be loaded that way."""


class Zigraph(Server):
    """zigraph as a user runs it: ``zigraph serve --data dataset.nq``, loading included."""

    def __init__(self, workers: int, threads: int, answer_cache: bool) -> None:
        super().__init__("zigraph-cached" if answer_cache else "zigraph", "/sparql")
        # The crawl of every route and the attack (issue 17's targets 0 and 6) run once, on
        # zigraph as the peers run (no answer cache).
        self.probes = not answer_cache
        self.workers = workers
        self.threads = threads
        self.answer_cache = answer_cache
        self.loads_at_start = True  # `zigraph serve --data` streams the file into its store
        self.version = metadata.version("zigraph")
        # The benchmark's clients all send from one address: the per-address bound (a guard
        # for a public endpoint, which the peers lack) would answer most of them 429.
        self.env = {"ZIGRAPH_QUERY_TIMEOUT": str(SERVER_TIMEOUT), "ZIGRAPH_QUERIES_PER_CLIENT": "0"}
        self.env["PYTHONPATH"] = CHECKOUT_FIRST
        self.notes.append("no bound per client address (`ZIGRAPH_QUERIES_PER_CLIENT=0`)")
        self.notes.append(
            f"`zigraph serve --data dataset.nq --no-validate` ({workers} gthread workers x "
            f"{threads} threads); the store is built from the file at start"
        )
        if answer_cache:
            self.notes.append("answer cache on (the default): repeated queries are cache hits")
        else:
            # The peers keep no answers; to compare evaluation with evaluation, neither does this.
            self.env["ZIGRAPH_RESULT_CACHE_MB"] = "0"
            self.notes.append("answer cache off (`ZIGRAPH_RESULT_CACHE_MB=0`)")

    def engine_floor(self, workdir: Path, queries: list[Query], seconds: float) -> dict:
        if self.answer_cache:
            return {}
        import pyoxigraph as ox

        store = ox.Store.read_only(str(workdir / "store"))
        floor = {}
        for query in queries:
            if query.runaway:
                continue
            timings = []
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and len(timings) < 1000:
                started = time.perf_counter()
                list(store.query(query.text, use_default_graph_as_union=True))
                timings.append(time.perf_counter() - started)
            floor[query.name] = round(statistics.median(timings) * 1000, 2)
        del store
        return floor

    def command(self, data: Path, workdir: Path, port: int) -> list[str]:
        # Validation is left out, as the peers validate nothing; `zigraph validate` times it.
        return [
            str(PROJECT_BIN / "zigraph"), "serve", "--data", str(data),
            "--store-dir", str(workdir / "store"), "--no-validate",
            "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(self.workers), "--threads", str(self.threads),
        ]  # fmt: skip


# The Oxigraph server keeps a thread per query for its time limit (--timeout-s): at 3,300
# lookups a second and SERVER_TIMEOUT 5 s, 16,500 threads at once. With Linux's default pid_max
# (32768) and max_map_count (65530) it ran out of both at concurrency 8 and aborted (a run of
# 2026-12-04, not kept); the bench asks for these limits before it starts.
KERNEL_LIMITS = {"kernel/pid_max": 4_194_304, "vm/max_map_count": 1_048_576}


def kernel_limits() -> dict[str, int]:
    """Return the kernel's limits the Oxigraph server's threads need (0 where unreadable)."""
    limits = {}
    for name in KERNEL_LIMITS:
        try:
            limits[name] = int(Path("/proc/sys", name).read_text())
        except (OSError, ValueError):
            limits[name] = 0
    return limits


class Oxigraph(Server):
    """The Oxigraph server (Rust), read-only, on a store loaded with ``oxigraph load``."""

    def __init__(self) -> None:
        super().__init__("oxigraph", "/query")
        self.binary = PROJECT_BIN / "oxigraph"

    def available(self) -> str | None:
        if not self.binary.exists():
            return f"{self.binary} is missing (pip install oxigraph)"
        self.version = subprocess.run(
            [str(self.binary), "--version"], capture_output=True, text=True
        ).stdout.split()[-1]
        return None

    def prepare(self, data: Path, workdir: Path) -> tuple[int, int]:
        location = f"--location={workdir / 'oxigraph'}"
        log = workdir / "prepare.log"
        started = time.monotonic()
        loaded = run_quietly([str(self.binary), "load", location, f"--file={data}"], log)
        self.bulk_load_s = round(time.monotonic() - started, 2)  # issue 17's target 5
        # zigraph's build_store optimizes its store too: compare compacted with compacted.
        optimized = run_quietly([str(self.binary), "optimize", location], log)
        return max(loaded[0], optimized[0]), max(loaded[1], optimized[1])

    def command(self, data: Path, workdir: Path, port: int) -> list[str]:
        return [
            str(self.binary),
            "serve-read-only",
            f"--location={workdir / 'oxigraph'}",
            f"--bind=127.0.0.1:{port}",
            "--union-default-graph",
            f"--timeout-s={SERVER_TIMEOUT}",
        ]


class RdflibEndpoint(Server):
    """rdflib-endpoint (FastAPI + rdflib's in-memory store), from its own virtualenv."""

    def __init__(self) -> None:
        super().__init__("rdflib-endpoint", "/")
        self.binary = PEERS_VENV / "bin" / "rdflib-endpoint"
        self.loads_at_start = True
        self.notes.append("parses the data at start-up (in start s); no query time limit")

    def available(self) -> str | None:
        if not self.binary.exists():
            try:
                if not (PEERS_VENV / "bin" / "python").exists():
                    subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
                subprocess.run(
                    [str(PEERS_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
                    + [RDFLIB_ENDPOINT],
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            except subprocess.CalledProcessError as error:
                return f"could not install {RDFLIB_ENDPOINT} into {PEERS_VENV}: {error}"
        versions = subprocess.run(
            [
                str(PEERS_VENV / "bin" / "python"),
                "-c",
                "from importlib.metadata import version as v; "
                "print(v('rdflib-endpoint'), v('rdflib'), v('uvicorn'))",
            ],
            capture_output=True,
            text=True,
        ).stdout.split()
        if len(versions) != 3:
            return "rdflib-endpoint is installed but does not import"
        self.version = f"{versions[0]} (rdflib {versions[1]}, uvicorn {versions[2]})"
        return None

    def command(self, data: Path, workdir: Path, port: int) -> list[str]:
        return [str(self.binary), "serve", str(data), "--host=127.0.0.1", f"--port={port}"]


class Virtuoso(Server):
    """OpenLink Virtuoso open source (Debian's virtuoso-minimal), loaded with its bulk loader."""

    def __init__(self) -> None:
        super().__init__("virtuoso", "/sparql")
        self.binary = shutil.which("virtuoso-t")
        self.isql = shutil.which("isql-vt")
        self.isql_port = 0

    def available(self) -> str | None:
        if not (self.binary and self.isql):
            return "virtuoso-t is not installed (apt-get install virtuoso-minimal)"
        result = subprocess.run([self.binary, "-?"], capture_output=True, text=True)
        for line in (result.stdout + result.stderr).splitlines():
            if "Version" in line:
                self.version = line.split("Version", 1)[1].strip().split()[0]
                break
        return None

    def command(self, data: Path, workdir: Path, port: int) -> list[str]:
        folder = workdir / "virtuoso"
        folder.mkdir(exist_ok=True)
        # The bulk loader reads every matching file of a folder it is allowed to read.
        (workdir / "data-link").mkdir(exist_ok=True)
        if os.stat(data).st_dev == os.stat(workdir).st_dev:
            os.link(data, workdir / "data-link" / data.name)
        else:
            shutil.copy(data, workdir / "data-link" / data.name)
        self.isql_port = free_port()
        ini = folder / "virtuoso.ini"
        ini.write_text(
            VIRTUOSO_INI.format(
                folder=folder,
                data=workdir / "data-link",
                isql_port=self.isql_port,
                http_port=port,
                timeout=SERVER_TIMEOUT,
            )
        )
        return [self.binary, "+foreground", "+configfile", str(ini)]

    def after_start(self, port: int, workdir: Path) -> None:
        deadline = time.monotonic() + 120
        while True:  # the HTTP port opens before the SQL port answers
            try:
                socket.create_connection(("127.0.0.1", self.isql_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("virtuoso's SQL port never opened") from None
                time.sleep(0.2)
        data = workdir / "data-link"
        statements = (
            # N-Quads name their graphs; the graph given here is only for triples without one.
            f"ld_dir('{data}', '*.nq', '{GRAPH_BASE}bench/default'); rdf_loader_run(); checkpoint; "
        )
        run_quietly(
            [self.isql, str(self.isql_port), "dba", "dba", f"exec={statements}"],
            workdir / "prepare.log",
            timeout=600,
        )


# ResultSetMaxRows above 10,000: zigraph over Virtuoso reads the store in pages of 10,000
# rows, and an answer of exactly the limit is taken as cut (docs/remote-stores.md).
VIRTUOSO_INI = """\
[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{isql_port}
ServerThreads = 10
CheckpointInterval = 60
NumberOfBuffers = 170000
MaxDirtyBuffers = 130000
DirsAllowed = ., {data}, {folder}
DefaultIsolation = 2

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {folder}
ServerThreads = 10
MaxClientConnections = 10
KeepAliveTimeout = 10

[SPARQL]
ResultSetMaxRows = 100000
MaxQueryExecutionTime = {timeout}
MaxQueryCostEstimationTime = 0
DefaultQuery = SELECT * WHERE {{ ?s ?p ?o }} LIMIT 1
"""


# ---------------------------------------------------------------- the client


class Client:
    """A SPARQL Protocol client on one keep-alive connection (one per thread)."""

    def __init__(self, port: int, path: str, source: str = "127.0.0.1") -> None:
        self.port = port
        self.path = path
        self.source = source  # another loopback address is another client to the server
        self.connection: http.client.HTTPConnection | None = None

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=timeout, source_address=(self.source, 0)
        )

    def ask(self, query: Query, timeout: float = CLIENT_TIMEOUT) -> tuple[int, bytes, bool]:
        """POST a query as a form; return the status (0 for no answer), the body and whether
        the server said it answered from a cache (zigraph's ``X-Zigraph-Cache: hit``)."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": GRAPH_TYPE if query.graph else SELECT_TYPE,
        }
        body = urlencode({"query": query.text})
        while True:
            fresh = self.connection is None
            if fresh:
                self.connection = self.connect(timeout)
            try:
                self.connection.request("POST", self.path, body, headers)
                response = self.connection.getresponse()
                answer = response.read()
                cached = response.getheader(CACHE_HEADER, "") == "hit"
                if response.will_close:
                    self.close()
                return response.status, answer, cached
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # A kept-alive connection the server closed while idle: retry once, anew.
                self.close()
                if fresh:
                    return 0, b"", False
            except (OSError, http.client.HTTPException):
                self.close()
                return 0, b"", False

    def get(self, path: str, accept: str = "text/html") -> int:
        """GET a page on the kept-alive connection; return the status (0 for no answer)."""
        for _ in range(2):
            if self.connection is None:
                self.connection = self.connect(CLIENT_TIMEOUT)
            try:
                self.connection.request("GET", path, headers={"Accept": accept})
                response = self.connection.getresponse()
                response.read()
                if response.will_close:
                    self.close()
                return response.status
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                self.close()  # closed while idle: once more on a new connection
            except (OSError, http.client.HTTPException):
                self.close()
                return 0
        return 0

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def answer_size(query: Query, body: bytes) -> int | None:
    """Return the number of solutions or triples in an answer, None when it does not parse."""
    try:
        if query.graph:
            import pyoxigraph as ox

            return len(list(ox.parse(body, format=ox.RdfFormat.TURTLE)))
        return len(json.loads(body)["results"]["bindings"])
    except (ValueError, KeyError, SyntaxError):
        return None


def measure(port: int, path: str, query: Query, concurrency: int, duration: float) -> dict:
    """Send ``query`` from ``concurrency`` threads for ``duration`` seconds; return the figures."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    hits = [0]  # answers the server took from a cache
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def work() -> None:
        client = Client(port, path)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            status, _, cached = client.ask(query)
            elapsed = time.perf_counter() - started
            with lock:
                if len(latencies) + sum(errors.values()) >= MAX_REQUESTS:
                    break
                if status == 200:
                    latencies.append(elapsed)
                    hits[0] += cached
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1
        client.close()

    wall = run_threads(work, concurrency)
    return {**summarize(latencies, errors, wall), "cache_hits": hits[0]}


def run_threads(work, concurrency: int) -> float:
    """Run ``work`` in ``concurrency`` threads at once; return the seconds until all ended."""
    started = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def percentile(ordered: list[float], share: float) -> float | None:
    """Return the value below which ``share`` of the sorted latencies fall (nearest rank)."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, int(share * len(ordered) + 0.5) - 1))]


def summarize(latencies: list[float], errors: dict[str, int], wall: float) -> dict:
    """Return count, errors, median, p95 and p99 latency (ms) and throughput of a measurement."""
    ordered = sorted(latencies)

    def ms(value: float | None) -> float | None:
        return round(value * 1000, 2) if value is not None else None

    return {
        "ok": len(ordered),
        "errors": errors,
        "median_ms": ms(statistics.median(ordered)) if ordered else None,
        "p95_ms": ms(percentile(ordered, 0.95)),
        "p99_ms": ms(percentile(ordered, 0.99)),
        "qps": round(len(ordered) / wall, 2) if wall else None,
        "seconds": round(wall, 2),
    }


def drain(port: int, path: str, most: float = 120) -> None:
    """Wait until the server has finished the work the client gave up on.

    A server that evaluates one query at a time (rdflib-endpoint) goes on with queued
    requests after the client stopped waiting for them; a probe answered quickly means the
    queue is empty, so the next measurement does not pay for the last one.
    """
    probe = Query("probe", "", "ASK { ?s ?p ?o }")
    deadline = time.monotonic() + most
    while time.monotonic() < deadline:
        client = Client(port, path)
        started = time.perf_counter()
        status, _, _ = client.ask(probe, timeout=max(1, deadline - time.monotonic()))
        client.close()
        if status == 200 and time.perf_counter() - started < 1:
            return


def wait_ready(process: subprocess.Popen, port: int, path: str, timeout: float) -> None:
    """Wait until the server answers a trivial query, or raise when it dies or never does."""
    probe = Query("probe", "", "ASK { ?s ?p ?o }")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with status {process.returncode} before answering")
        client = Client(port, path)
        status, _, _ = client.ask(probe, timeout=2)
        client.close()
        if status == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(f"did not answer within {timeout:.0f} s")


def wait_pages(port: int, timeout: float) -> None:
    """Wait until zigraph's /healthz says nothing is still being made for its pages."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                if not json.loads(answer.read()).get("making"):
                    return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"its pages were not ready within {timeout:.0f} s")


ENTITY_TYPES = (  # the kinds of entity page sampled, in turn
    "Dinas", "RegionalAgency", "Kecamatan", "DesignationConferral", "SelectionPipeline",
    "SelectionStage", "City", "LocalGovernment", "Passage",
)  # fmt: skip
WARM_PAGES = 20  # pages visited before measuring, not counted (and never measured)


def entity_pages(port: int, path: str, count: int) -> list[str]:
    """Return ``count`` distinct entity page paths, the kinds of ``ENTITY_TYPES`` in turn,
    each kind evenly spread over its (sorted) entities."""
    client = Client(port, path)
    per_kind = []
    for kind in ENTITY_TYPES:
        query = Query(kind, "", f"SELECT ?s WHERE {{ ?s a <{ZI}{kind}> }} ORDER BY ?s LIMIT 10000")
        status, body, _ = client.ask(query, timeout=120)
        if status != 200:
            raise RuntimeError(f"listing the {kind} entities failed ({status})")
        iris = [b["s"]["value"] for b in json.loads(body)["results"]["bindings"]]
        iris = [i for i in iris if i.startswith(ID_BASE)]
        wanted = -(-count // len(ENTITY_TYPES))
        per_kind.append(iris[:: max(1, len(iris) // wanted)][:wanted])
    client.close()
    mixed = [kind[i] for i in range(max(map(len, per_kind))) for kind in per_kind if i < len(kind)]
    return ["/doc/" + iri[len(ID_BASE) :] for iri in mixed[:count]]


def measure_pages(port: int, paths: list[str], concurrency: int) -> dict:
    """GET each page once (``Accept: text/html``) from ``concurrency`` threads; the figures."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    todo = list(reversed(paths))
    lock = threading.Lock()

    def work() -> None:
        client = Client(port, "")
        while True:
            with lock:
                if not todo:
                    break
                page = todo.pop()
            started = time.perf_counter()
            status = client.get(page)
            elapsed = time.perf_counter() - started
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1
        client.close()

    return summarize(latencies, errors, run_threads(work, concurrency))


# ---------------------------------------------------------------- every route, once and again

RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
HUBS = ("organisation/" + generate.MINISTRY, "designation/wbk", "designation/wbbm")
CRAWL_TIMEOUT = 30.0  # seconds a crawled route may take before the client gives up
CRAWL_BUDGET = 10.0  # seconds of later visits per route, after at least one


def largest_classes(data: Path, count: int) -> list[str]:
    """Return the IRIs of the ``count`` classes with the most members in an N-Quads file."""
    sizes: dict[str, int] = {}
    with data.open("rb") as lines:
        for line in lines:
            if RDF_TYPE.encode() in line:
                kind = line.split(b" ", 3)[2].decode()
                sizes[kind] = sizes.get(kind, 0) + 1
    ordered = sorted(sizes, key=lambda k: -sizes[k])
    return [kind.strip("<>") for kind in ordered[:count]]


def crawl_routes(classes: list[str], city: str) -> list[tuple[str, str]]:
    """Return (path, Accept) of every route a visitor reaches (docs/routes.md), the hubs' pages
    and documents among them; the routes that may read the whole store come last."""
    routes = [("/", "text/html"), ("/browse", "text/html")]
    routes += [("/browse/class?" + urlencode({"iri": c}), "text/html") for c in classes]
    routes += [("/search?" + urlencode({"q": city.lower()}), "text/html")]
    routes += [("/ontology", "text/html"), ("/shapes", "text/html")]
    for hub in HUBS:
        routes += [(f"/doc/{hub}", "text/html"), (f"/doc/{hub}", GRAPH_TYPE)]
    routes += [("/.well-known/void", GRAPH_TYPE), ("/catalog", GRAPH_TYPE)]  # RDF only
    return routes + [("/validation", "text/html")]


def fetch(
    port: int, path: str, accept: str, timeout: float, source: str = "127.0.0.1"
) -> tuple[int, float]:
    """GET a path on a new connection; return the status (0 for no answer) and the seconds."""
    client = Client(port, "", source)
    connection = client.connect(timeout)
    started = time.perf_counter()
    try:
        connection.request("GET", path, headers={"Accept": accept})
        response = connection.getresponse()
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        status = 0
    finally:
        connection.close()
    return status, time.perf_counter() - started


def crawl(port: int, routes: list[tuple[str, str]], repeats: int) -> list[dict]:
    """Visit each route once, then up to ``repeats`` times more (at most ``CRAWL_BUDGET`` s
    of them, at least one, none after no answer); return each route's status, first time and
    later median."""
    visits = []
    for path, accept in routes:
        status, first = fetch(port, path, accept, CRAWL_TIMEOUT)
        later: list[float] = []
        statuses = {status}
        while status and len(later) < repeats and (not later or sum(later) < CRAWL_BUDGET):
            again, seconds = fetch(port, path, accept, CRAWL_TIMEOUT)
            statuses.add(again)
            later.append(seconds)
        visits.append({
            "path": path,
            "accept": accept,
            "status": status,
            "statuses": sorted(statuses),
            "first_ms": round(first * 1000, 1),
            "later_median_ms": round(statistics.median(later) * 1000, 1) if later else None,
            "later": len(later),
        })  # fmt: skip
        print(
            f"    {path} ({accept}): {status}, first {visits[-1]['first_ms']} ms, then "
            f"{visits[-1]['later_median_ms']} ms",
            flush=True,
        )
    return visits


def tree_cpu_seconds(root: int) -> float:
    """Return the CPU seconds (user + system) a process tree has used so far."""
    ticks = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_idle(root: int, most: float = 120) -> float:
    """Wait (at most ``most`` s) until a server's processes use under a tenth of a core, so
    that work a client gave up on (a route still computing) is not charged to what follows;
    return the seconds waited."""
    started = time.monotonic()
    before = tree_cpu_seconds(root)
    while time.monotonic() - started < most:
        time.sleep(1)
        now = tree_cpu_seconds(root)
        if now - before < 0.1:
            break
        before = now
    return round(time.monotonic() - started, 1)


# ---------------------------------------------------------------- under attack (target 6)

ATTACK_SOURCES = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
HALF_OPEN = 8  # sockets that never finish their headers
SLOW_QUERIES = 8  # slow queries held open at once, two per source address
# The attackers' query runs until the time limit in flat memory (160 MB at a million
# triples): the runaway cross product is stopped at the evaluator's heap cap, and a query that
# crashed an evaluator is refused at once after, so it no longer holds a thread.
SLOW_QUERY = Query(
    "slow",
    "every pair of preferred labels compared: slow, in bounded memory",
    "SELECT (COUNT(*) AS ?n) WHERE { ?a <http://www.w3.org/2004/02/skos/core#prefLabel> ?b . "
    "?c <http://www.w3.org/2004/02/skos/core#prefLabel> ?d FILTER(?b = ?d) }",
)
PROBES = 30  # /healthz and entity page requests per state, at most
PROBE_SECONDS = 20.0  # at most, per state


def half_open_sockets(port: int, count: int, stop: threading.Event) -> threading.Thread:
    """Open ``count`` connections that send a header line every 2 s and never end them."""

    def hold() -> None:
        sockets = []
        for number in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-{number}: ".encode())
            sockets.append(sock)
        while not stop.wait(2):
            for sock in list(sockets):
                try:
                    sock.sendall(b"a")
                except OSError:  # the server closed it: open another, as an attacker would
                    sockets.remove(sock)
                    try:
                        fresh = socket.create_connection(("127.0.0.1", port), timeout=5)
                        fresh.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                        sockets.append(fresh)
                    except OSError:
                        pass
        for sock in sockets:
            sock.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


def probe_times(port: int, page: str) -> dict:
    """Time ``/healthz`` and an entity page in turn, each on a new connection."""
    times: dict[str, list[float]] = {"healthz": [], "page": []}
    failed = {"healthz": 0, "page": 0}
    deadline = time.monotonic() + PROBE_SECONDS
    while len(times["page"]) < PROBES and time.monotonic() < deadline:
        for name, path in (("healthz", "/healthz"), ("page", page)):
            status, seconds = fetch(port, path, "text/html", CLIENT_TIMEOUT)
            times[name].append(seconds)  # a failure counts with the time it took
            failed[name] += status != 200
    figures = {}
    for name, values in times.items():
        ordered = sorted(values)
        figures[name] = {
            "median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(percentile(ordered, 0.95) * 1000, 2),
            "samples": len(ordered),
            "failed": failed[name],
        }
    return figures


def under_attack(port: int, path: str, page: str, slow_query: Query = SLOW_QUERY) -> dict:
    """Time /healthz and an entity page idle, then with ``HALF_OPEN`` sockets that never
    finish their headers and ``SLOW_QUERIES`` slow queries from four addresses at once."""
    idle = probe_times(port, page)
    stop = threading.Event()
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def slow_client(source: str) -> None:
        client = Client(port, path, source)
        while not stop.is_set():
            status, _, _ = client.ask(slow_query)
            with lock:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
        client.close()

    holder = half_open_sockets(port, HALF_OPEN, stop)
    sources = [ATTACK_SOURCES[n % len(ATTACK_SOURCES)] for n in range(SLOW_QUERIES)]
    attackers = [threading.Thread(target=slow_client, args=(s,)) for s in sources]
    for thread in attackers:
        thread.start()
    time.sleep(2)  # every attacker's request is in
    attacked = probe_times(port, page)
    stop.set()
    for thread in [*attackers, holder]:
        thread.join(CLIENT_TIMEOUT + 5)
    return {"page": page, "idle": idle, "attack": attacked, "slow_query_statuses": statuses}


# ---------------------------------------------------------------- profiles (py-spy)

PY_SPY = PROJECT_BIN / "py-spy"


class Profile:
    """py-spy ``record`` on each web process of a server (their evaluators included) while a
    phase runs; the files go to a folder, a summary of the top frames to the report."""

    def __init__(self, folder: Path | None, fmt: str, root: int, name: str) -> None:
        self.folder, self.fmt, self.root, self.name = folder, fmt, root, name
        self.recorders: list[tuple[subprocess.Popen, Path]] = []

    def __enter__(self) -> Profile:
        if self.folder is None:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        # The web processes are the server's children (gunicorn's workers).
        children = [pid for pid in process_tree(self.root) if parent_of(pid) == self.root]
        suffix = "json" if self.fmt == "speedscope" else "txt"
        for pid in children:
            output = self.folder / f"{self.name}-{pid}.{suffix}"
            command = [str(PY_SPY), "record", "--pid", str(pid), "--subprocesses"]
            command += ["--format", self.fmt, "--output", str(output), "--nonblocking"]
            recorder = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
            )
            self.recorders.append((recorder, output))
        time.sleep(0.5)  # py-spy attaches
        return self

    def __exit__(self, *exc) -> None:
        self.errors = []
        for recorder, _ in self.recorders:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        for recorder, _ in self.recorders:
            try:
                _, error = recorder.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                recorder.kill()
                _, error = recorder.communicate()
            if recorder.returncode:
                self.errors.append(error.decode(errors="replace").strip()[-300:])

    def summary(self, top: int = 12) -> dict | None:
        """Return the files written and the frames with most samples, own and inclusive."""
        if self.folder is None:
            return None
        stacks: dict[tuple[str, ...], int] = {}
        files = []
        for _, output in self.recorders:
            if not output.exists():
                continue
            files.append(str(output))
            for stack, count in read_stacks(output, self.fmt):
                stacks[stack] = stacks.get(stack, 0) + count
        total = sum(stacks.values())
        own: dict[str, int] = {}
        innermost: dict[str, int] = {}  # the deepest frame of zigraph's own code (service/)
        for stack, count in stacks.items():
            frames = [short_frame(f) for f in stack if not f.startswith("process ")]
            if frames:
                own[frames[-1]] = own.get(frames[-1], 0) + count
            ours = [f for f in frames if "service/" in f]
            key = ours[-1] if ours else "(no frame of service/)"
            innermost[key] = innermost.get(key, 0) + count

        def share(counts: dict[str, int]) -> list[list]:
            rows = sorted(counts.items(), key=lambda item: -item[1])[:top]
            return [[frame, round(100 * n / total, 1)] for frame, n in rows] if total else []

        return {
            "files": files,
            "samples": total,
            "errors": getattr(self, "errors", []),
            "own": share(own),
            "service_innermost": share(innermost),
        }


def short_frame(frame: str) -> str:
    """Return a py-spy frame with its file named from its package, not from the disk's root."""
    name, _, where = frame.partition(" (")
    for anchor in (str(ROOT) + "/", "site-packages/", "/lib/python3."):
        if anchor in where:
            where = where.split(anchor, 1)[1]
            if anchor == "/lib/python3.":
                where = where.split("/", 1)[-1]
            break
    return f"{name} ({where}" if where else name


def read_stacks(path: Path, fmt: str) -> list[tuple[tuple[str, ...], int]]:
    """Return the stacks of a py-spy file (collapsed ``raw`` text or ``speedscope`` JSON)."""
    if fmt == "raw":
        stacks = []
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                stacks.append((tuple(stack.split(";")), int(count)))
        return stacks
    document = json.loads(path.read_text())
    frames = [
        f"{f['name']} ({f.get('file', '')}:{f.get('line', '')})"
        for f in document["shared"]["frames"]
    ]
    stacks = []
    for profile in document["profiles"]:
        for sample in profile["samples"]:  # one sample each (the weights are seconds)
            stacks.append((tuple(frames[i] for i in sample), 1))
    return stacks


# ---------------------------------------------------------------- zigraph over Virtuoso (target 7)


def push_into(graph_store: str, data: Path, log: Path, env: dict, *extra: str) -> float:
    """Run ``zigraph push`` of ``data`` (unvalidated, as served) into a Graph Store endpoint;
    return its seconds, or raise with the last line of its log."""
    started = time.monotonic()
    with log.open("wb") as output:
        pushed = subprocess.run(
            [str(PROJECT_BIN / "zigraph"), "push", "--graph-store", graph_store, *extra,
             "--data", str(data), "--no-validate"],
            stdout=output, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    if pushed.returncode:
        last = (tail(log, 600).strip().splitlines() or [""])[-1]
        raise RuntimeError(f"zigraph push ended with status {pushed.returncode}, after: {last}")
    return round(time.monotonic() - started, 2)


def serve_endpoint(endpoint: str, port: int, args) -> list[str]:
    """Return the command of ``zigraph serve --endpoint``, with the bench's workers and threads."""
    command = [str(PROJECT_BIN / "zigraph"), "serve", "--endpoint", endpoint]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(args.zigraph_workers)]
    return command + ["--threads", str(args.zigraph_threads)]


def zigraph_over_virtuoso(
    virtuoso_port: int, data: Path, workdir: Path, queries: list[Query], args
) -> dict:
    """Serve the running Virtuoso through ``zigraph serve --endpoint``; measure the mix through
    zigraph and on Virtuoso's own endpoint in turn, then crawl zigraph's routes."""
    result: dict = {"server": "zigraph-virtuoso", "notes": []}
    env = {
        **os.environ,
        "PYTHONPATH": CHECKOUT_FIRST,
        "ZIGRAPH_STORE_PASSWORD": "dba",
        "ZIGRAPH_QUERY_TIMEOUT": str(SERVER_TIMEOUT),
        "ZIGRAPH_QUERIES_PER_CLIENT": "0",
        "ZIGRAPH_RESULT_CACHE_MB": "0",
        # Virtuoso's bif:http_get reaches the network whatever its rights (remote-stores.md);
        # on this loopback-only bench zigraph is told to serve it anyway.
        "ZIGRAPH_ALLOW_NETWORKED_STORE": "1",
    }
    # zigraph push puts every graph again (the bulk loader's copy is replaced) with the
    # ontology and the shapes, and last its record, which says which graphs zigraph serves
    # and holds their version and statistics (docs/remote-stores.md); unvalidated, as served.
    graph_store = f"http://127.0.0.1:{virtuoso_port}/sparql-graph-crud-auth"
    result["push_s"] = push_into(graph_store, data, workdir / "push.log", env, "--user", "dba")
    result["notes"].append(
        "`zigraph serve --endpoint <virtuoso>/sparql` over the Virtuoso above, after "
        "`zigraph push --data dataset.nq --no-validate` into it; "
        "`ZIGRAPH_ALLOW_NETWORKED_STORE=1`"
    )
    port = free_port()
    command = serve_endpoint(f"http://127.0.0.1:{virtuoso_port}/sparql", port, args)
    log = (workdir / "zigraph-virtuoso.log").open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
    )
    sampler = MemorySampler(process.pid)
    sampler.start()
    try:
        try:
            wait_ready(process, port, "/sparql", min(args.startup_timeout, 60))
        except RuntimeError as error:
            # Its routes are still crawled below: the pages say what a visitor sees.
            result["failed"] = f"{error}; its log: {last_store_error(workdir)}"
            print(f"  zigraph-virtuoso: FAILED {result['failed']}", flush=True)
        else:
            result["startup_s"] = round(time.monotonic() - started, 2)
            print(f"  zigraph-virtuoso: ready in {result['startup_s']} s", flush=True)
            measure_over(result, port, virtuoso_port, process.pid, queries, args)
        if args.crawl_repeats:
            routes, repeats = args.routes, args.crawl_repeats
            if "failed" in result:
                # Each route would take up to the client's wait: the home page says enough.
                routes, repeats = routes[:1], 0
                result["notes"].append("only `/` crawled, once: zigraph never answered a query")
            print("  zigraph-virtuoso: every route", flush=True)
            result["crawl"] = crawl(port, routes, repeats)
        sampler.sample()
        result["pss_peak_mib"] = mib(sampler.peak_pss)
    finally:
        sampler.stopped.set()
        stop_process(process)
        log.close()
        result["log_tail"] = tail(workdir / "zigraph-virtuoso.log")
    return result


def last_store_error(workdir: Path) -> str:
    """Return the last line of zigraph's log over Virtuoso that speaks of the store."""
    lines = tail(workdir / "zigraph-virtuoso.log", 20_000).splitlines()
    return next((line for line in reversed(lines) if "store" in line), "nothing about the store")


def zigraph_over_oxigraph(data: Path, workdir: Path, args) -> dict:
    """Push the data into an Oxigraph server of its own, serve it through ``zigraph serve
    --endpoint`` and crawl zigraph's routes: target 0 over a remote store other than Virtuoso.

    The Oxigraph server of the peers' rows serves read-only; this one (``oxigraph serve``)
    takes ``zigraph push``, as a user's would.
    """
    result: dict = {"server": "zigraph-oxigraph", "notes": []}
    env = {
        **os.environ,
        "PYTHONPATH": CHECKOUT_FIRST,
        "ZIGRAPH_QUERY_TIMEOUT": str(SERVER_TIMEOUT),
        # The Oxigraph server fetches URLs for SERVICE (remote-stores.md); on this
        # loopback-only bench zigraph is told to serve it anyway.
        "ZIGRAPH_ALLOW_NETWORKED_STORE": "1",
    }
    store_port = free_port()
    store_command = [str(PROJECT_BIN / "oxigraph"), "serve"]
    store_command += [f"--location={workdir / 'oxigraph-remote'}", f"--bind=127.0.0.1:{store_port}"]
    # Its own time limit, as docs/remote-stores.md runs it: zigraph cannot stop a query there.
    store_command += [f"--timeout-s={SERVER_TIMEOUT}"]
    store_log = (workdir / "oxigraph-remote.log").open("wb")
    store = subprocess.Popen(
        store_command, stdout=store_log, stderr=subprocess.STDOUT, start_new_session=True
    )
    process = None
    log = (workdir / "zigraph-oxigraph.log").open("wb")
    try:
        wait_ready(store, store_port, "/query", 60)
        graph_store = f"http://127.0.0.1:{store_port}/store"
        result["push_s"] = push_into(graph_store, data, workdir / "push-oxigraph.log", env)
        result["notes"].append(
            "`zigraph serve --endpoint <oxigraph>/query` over an `oxigraph serve` of its own, "
            "after `zigraph push --data dataset.nq --no-validate` into it; "
            "`ZIGRAPH_ALLOW_NETWORKED_STORE=1`"
        )
        port = free_port()
        command = serve_endpoint(f"http://127.0.0.1:{store_port}/query", port, args)
        started = time.monotonic()
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
        routes, repeats = args.routes, args.crawl_repeats
        try:
            wait_ready(process, port, "/sparql", min(args.startup_timeout, 60))
            result["startup_s"] = round(time.monotonic() - started, 2)
            print(f"  zigraph-oxigraph: ready in {result['startup_s']} s", flush=True)
        except RuntimeError as error:
            result["failed"] = str(error)
            print(f"  zigraph-oxigraph: FAILED {error}", flush=True)
            # Each route would take up to the client's wait: the home page says enough.
            routes, repeats = routes[:1], 0
            result["notes"].append("only `/` crawled, once: zigraph never answered a query")
        print("  zigraph-oxigraph: every route", flush=True)
        result["crawl"] = crawl(port, routes, repeats)
    finally:
        if process is not None:
            stop_process(process)
        stop_process(store)
        log.close()
        store_log.close()
        result["log_tail"] = tail(workdir / "zigraph-oxigraph.log")
    return result


def measure_over(
    result: dict, port: int, virtuoso_port: int, root: int, queries: list[Query], args
) -> None:
    """Measure the mix through zigraph over Virtuoso and on Virtuoso's endpoint, in turn."""
    result["answers"], result["direct_answers"] = {}, {}
    sides = (("runs", port, "/sparql", "answers"),)
    sides += (("direct", virtuoso_port, "/sparql", "direct_answers"),)
    mix = [q for q in queries if not q.runaway]
    for _, side_port, side_path, answers in sides:
        client = Client(side_port, side_path)
        for query in mix:
            status, body, _ = client.ask(query)
            result[answers][query.name] = answer_size(query, body) if status == 200 else None
            measure(side_port, side_path, query, max(args.concurrency), min(1, args.duration))
            drain(side_port, side_path)
        client.close()
    result["runs"], result["direct"] = {}, {}
    for concurrency in args.concurrency:
        for query in mix:
            for key, side_port, side_path, _ in sides:
                name = f"zigraph-virtuoso-{query.name}-c{concurrency}"
                profiled = key == "runs" and query.name == "lookup"
                with Profile(
                    args.profile if profiled else None, args.profile_format, root, name
                ) as profile:
                    figures = measure(side_port, side_path, query, concurrency, args.duration)
                if profiled and args.profile:
                    result.setdefault("profile", {})[f"lookup c{concurrency}"] = profile.summary()
                drain(side_port, side_path)
                result[key].setdefault(str(concurrency), {})[query.name] = figures
            print(
                f"  zigraph-virtuoso c={concurrency} {query.name}: median "
                f"{result['runs'][str(concurrency)][query.name]['median_ms']} ms, "
                f"virtuoso {result['direct'][str(concurrency)][query.name]['median_ms']} ms",
                flush=True,
            )


def benchmark_server(server: Server, data: Path, queries: list[Query], args) -> dict:
    """Prepare, start, measure and stop one server; return its figures."""
    result: dict = {"server": server.name, "version": server.version, "notes": server.notes}
    result["load_average_before"] = wait_quiet(args.quiet_load, args.quiet_wait)
    workdir = Path(tempfile.mkdtemp(prefix=f"zigraph-bench-{server.name}-", dir=args.workdir))
    process = sampler = None
    try:
        started = time.monotonic()
        prepare_rss, prepare_pss = server.prepare(data, workdir)
        result["load_s"] = None if server.loads_at_start else round(time.monotonic() - started, 2)
        if isinstance(server, Oxigraph):
            result["bulk_load_s"] = server.bulk_load_s
        port = free_port()
        log = (workdir / "server.log").open("wb")
        started = time.monotonic()
        process = subprocess.Popen(
            server.command(data, workdir, port),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=workdir,
            env={**os.environ, **server.env},
        )
        sampler = MemorySampler(process.pid)  # from launch: loading at start is included
        sampler.start()
        wait_ready(process, port, server.path, args.startup_timeout)
        result["startup_s"] = round(time.monotonic() - started, 2)
        started = time.monotonic()
        server.after_start(port, workdir)
        if result["load_s"] is not None:
            result["load_s"] = round(result["load_s"] + time.monotonic() - started, 2)
        # From the first command to the first answer, whatever the server loads in between.
        result["ready_s"] = round((result["load_s"] or 0) + result["startup_s"], 2)
        idle_rss, idle_pss = sampler.sample()
        result["rss_idle_mib"], result["pss_idle_mib"] = mib(idle_rss), mib(idle_pss)
        print(f"  {server.name}: ready in {result['ready_s']} s", flush=True)
        probes = isinstance(server, Zigraph) and server.probes
        if isinstance(server, Zigraph):
            # zigraph answers queries once the data is loaded, and its pages once the
            # statistics and search index are made from it, in the background meanwhile.
            wait_pages(port, args.startup_timeout)
            result["pages_ready_s"] = round(result["ready_s"] + time.monotonic() - started, 2)
            print(f"  {server.name}: every page ready in {result['pages_ready_s']} s", flush=True)
        if probes and args.crawl_repeats:
            # Right after the load: each route's first visit is the first of this data version.
            print(f"  {server.name}: every route", flush=True)
            result["crawl"] = crawl(port, args.routes, args.crawl_repeats)
            result["crawl_settled_s"] = wait_idle(process.pid)
            drain(port, server.path)

        client = Client(port, server.path)
        result["answers"] = {}
        result["slow"] = {}
        for query in queries:
            if query.runaway:
                continue
            began = time.perf_counter()
            status, body, _ = client.ask(query)
            took = time.perf_counter() - began
            result["answers"][query.name] = answer_size(query, body) if status == 200 else None
            if status != 200 or took > SERVER_TIMEOUT:
                # Longer than the time limit the other servers enforce: one such answer says
                # enough, and a queue of them would stall every later measurement.
                result["slow"][query.name] = {"status": status, "seconds": round(took, 2)}
                client.close()
                drain(port, server.path)
                continue
            # Warm caches, and every worker process, at the highest concurrency; not counted.
            measure(port, server.path, query, max(args.concurrency), min(1, args.duration))
            drain(port, server.path)
        client.close()

        result["runs"] = {}
        for concurrency in args.concurrency:
            for query in queries:
                if query.runaway or query.name in result["slow"]:
                    continue
                profiled = isinstance(server, Zigraph) and query.name == "lookup"
                name = f"{server.name}-{query.name}-c{concurrency}"
                with Profile(
                    args.profile if profiled else None, args.profile_format, process.pid, name
                ) as profile:
                    figures = measure(port, server.path, query, concurrency, args.duration)
                if profiled and args.profile:
                    result.setdefault("profile", {})[f"lookup c{concurrency}"] = profile.summary()
                drain(port, server.path)
                result["runs"].setdefault(str(concurrency), {})[query.name] = figures
                print(
                    f"  {server.name} c={concurrency} {query.name}: "
                    f"median {figures['median_ms']} ms, p99 {figures['p99_ms']} ms, "
                    f"{figures['qps']} q/s, errors {figures['errors'] or 0}",
                    flush=True,
                )
        pages = []
        if isinstance(server, Zigraph) and args.pages:
            try:
                pages = entity_pages(
                    port, server.path, WARM_PAGES + args.pages * len(args.concurrency)
                )
            except RuntimeError as error:
                # The query mix's figures stand; the pages' row says why it is missing.
                result["pages_failed"] = str(error)
                print(f"  {server.name}: entity pages not measured, {error}", flush=True)
        if pages:
            measure_pages(port, pages[:WARM_PAGES], max(args.concurrency))
            pages = pages[WARM_PAGES:]
            result["pages"] = {}
            for concurrency in args.concurrency:
                # Pages never visited before: no answer of the page's own queries is cached.
                name = f"{server.name}-pages-c{concurrency}"
                with Profile(args.profile, args.profile_format, process.pid, name) as profile:
                    figures = measure_pages(port, pages[: args.pages], concurrency)
                if args.profile:
                    result.setdefault("profile", {})[f"pages c{concurrency}"] = profile.summary()
                visited = pages[: args.pages]
                pages = pages[args.pages :]
                result["pages"][str(concurrency)] = figures
                print(
                    f"  {server.name} c={concurrency} entity pages: median "
                    f"{figures['median_ms']} ms, p99 {figures['p99_ms']} ms, errors "
                    f"{figures['errors'] or 0}",
                    flush=True,
                )
            # The pages of the highest concurrency again, on the same data version.
            top = max(args.concurrency)
            result["pages_again"] = {str(top): measure_pages(port, visited, top)}
            print(
                f"  {server.name} c={top} entity pages visited before: p99 "
                f"{result['pages_again'][str(top)]['p99_ms']} ms",
                flush=True,
            )
        result["load_average_measured"] = round(os.getloadavg()[0], 2)
        # In this process, on the server's store (read-only, shared), the server idle.
        result["engine_ms"] = server.engine_floor(workdir, queries, min(2, args.duration / 2))
        sampler.sample()
        # The peak of serving the mix and the pages, load included; the runaway query, built
        # to exhaust a server, is reported on its own (zigraph's evaluators have a heap cap).
        result["rss_peak_mib"] = mib(max(sampler.peak_rss, prepare_rss))
        result["pss_peak_mib"] = mib(max(sampler.peak_pss, prepare_pss))
        if isinstance(server, Virtuoso) and args.over_virtuoso:
            # Before the runaway query: Virtuoso answers it 500 at its time limit but goes on
            # computing it, two cores busy for minutes (a PUT then took 1.2 s, not 43 ms).
            drain(port, server.path)
            try:
                result["zigraph_over"] = zigraph_over_virtuoso(port, data, workdir, queries, args)
            except (RuntimeError, OSError, subprocess.SubprocessError) as error:
                # Virtuoso's own figures stand; the row over it says why it is missing.
                result["zigraph_over"] = {"failed": str(error), "notes": []}
                print(f"  zigraph-virtuoso: FAILED {error}", flush=True)
        result["runaway"] = runaway(port, server.path, queries)
        sampler.stop()
        result["pss_runaway_peak_mib"] = mib(sampler.peak_pss)
        if probes:
            drain(port, server.path)
            wait_idle(process.pid)
            print(f"  {server.name}: under attack", flush=True)
            result["attack"] = under_attack(port, server.path, args.sample_page)
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        result["failed"] = str(error)
        print(f"  {server.name}: FAILED {error}", flush=True)
    finally:
        if sampler is not None and sampler.is_alive():
            sampler.stopped.set()
        if process is not None:
            stop_process(process)
            log.close()
        result["log_tail"] = tail(workdir / "server.log")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def wait_quiet(threshold: float | None, most: float) -> float:
    """Wait (at most ``most`` s) until the 1-minute load average is below ``threshold``.

    The machine may be shared (test suites of other work): a busy machine slows every
    server, unevenly. Return the load average measured when going on.
    """
    deadline = time.monotonic() + most
    while threshold is not None and os.getloadavg()[0] >= threshold:
        if time.monotonic() > deadline:
            break
        time.sleep(5)
    return round(os.getloadavg()[0], 2)


def runaway(port: int, path: str, queries: list[Query]) -> dict:
    """Send the runaway query twice; report how it ended and whether the server still answers."""
    query = next(q for q in queries if q.runaway)
    lookup = next(q for q in queries if not q.runaway)
    client = Client(port, path)
    outcomes = []
    for _ in range(2):
        started = time.perf_counter()
        status, body, _ = client.ask(query)
        outcomes.append(
            {
                "status": status or f"no answer in {CLIENT_TIMEOUT} s",
                "seconds": round(time.perf_counter() - started, 2),
                "body": body[:300].decode(errors="replace"),
            }
        )
        if not status:  # the server is still busy with the first: a second proves nothing
            break
    client.close()
    after = Client(port, path)
    started = time.perf_counter()
    status, _, _ = after.ask(lookup, timeout=10)
    after.close()
    return {
        "attempts": outcomes,
        "lookup_after": {"status": status, "seconds": round(time.perf_counter() - started, 2)},
    }


def tail(path: Path, size: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


# ---------------------------------------------------------------- the report


def machine() -> dict:
    """Return what the figures were measured on."""
    memory = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    cpu = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    packages = {}
    for name in ("zigraph", "pyoxigraph", "oxigraph", "rdflib", "flask", "gunicorn"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": packages,
        "kernel_limits": kernel_limits(),
        # What zigraph's evaluators run with (ZIGRAPH_EVALUATOR_ALLOCATOR, default auto).
        "evaluator_allocator": allocator_of_zigraph(),
    }


def allocator_of_zigraph() -> str:
    """Return the allocator zigraph's evaluators run with here, as ``zigraph serve`` would."""
    from service.store.evaluator import allocator_name, find_allocator

    return allocator_name(find_allocator(os.environ.get("ZIGRAPH_EVALUATOR_ALLOCATOR", "auto")))


def revision() -> str:
    """Return the commit measured, flagged when service/ has uncommitted changes."""

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--", "service", "pyproject.toml"):
        commit += " with uncommitted changes in service/"
    return commit


def all_runs(result: dict) -> list[dict]:
    """Return the figures of every measurement of one server."""
    return [f for runs in result.get("runs", {}).values() for f in runs.values()]


def cell(value: object) -> str:
    return "–" if value is None else str(value)


def ratio(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return "–"
    return f"{ours / theirs:.2f}"


def find(report: dict, name: str) -> dict | None:
    """Return the figures of the server called ``name``, if it ran to the end."""
    return next((r for r in report["servers"] if r["server"] == name and "failed" not in r), None)


def targets(report: dict) -> list[tuple[str, str, str, str, str]]:
    """Return issue 10's targets: (what, zigraph's figure, the peer's, ratio, met?)."""
    ours = find(report, "zigraph")
    rdflib = find(report, "rdflib-endpoint")
    oxigraph = find(report, "oxigraph")
    rows = []

    def compare(what: str, mine, theirs, unit: str, met) -> None:
        """Add a row: ``met`` tells from zigraph's share of the peer's figure if it is met."""
        share = mine / theirs if mine and theirs else None
        verdict = "–" if share is None else ("met" if met(share) else "**missed**")
        rows.append(
            (what, f"{cell(mine)}{unit}", f"{cell(theirs)}{unit}", ratio(mine, theirs), verdict)
        )

    def figure(server: dict, concurrency: str, query: str, key: str) -> float | None:
        return server["runs"].get(concurrency, {}).get(query, {}).get(key)

    if ours and rdflib:
        compare(
            "ready: command to first answer, at most ¼ of rdflib-endpoint's",
            ours["ready_s"], rdflib["ready_s"], " s", lambda share: share <= 0.25,
        )  # fmt: skip
        compare(
            "peak memory of all processes (PSS, MiB; the runaway query aside), at most ½ of "
            "rdflib-endpoint's",
            ours["pss_peak_mib"], rdflib["pss_peak_mib"], "", lambda share: share <= 0.5,
        )  # fmt: skip
        compare(
            "the same as a sum of RSS (MiB; counts a shared page once per process)",
            ours["rss_peak_mib"], rdflib["rss_peak_mib"], "", lambda share: share <= 0.5,
        )  # fmt: skip
    for c in map(str, report["concurrency"]):
        if ours and oxigraph:
            compare(
                f"aggregate median at concurrency {c}, no slower than the Oxigraph server",
                figure(ours, c, "aggregate", "median_ms"),
                figure(oxigraph, c, "aggregate", "median_ms"), " ms", lambda share: share <= 1,
            )  # fmt: skip
        if ours and rdflib:
            compare(
                f"lookups per second at concurrency {c}, at least twice rdflib-endpoint's",
                figure(ours, c, "lookup", "qps"), figure(rdflib, c, "lookup", "qps"), "",
                lambda share: share >= 2,
            )  # fmt: skip
    if ours and ours.get("pages"):
        top = str(max(report["concurrency"]))
        p99 = ours["pages"][top]["p99_ms"]
        verdict = "–" if p99 is None else ("met" if p99 < 50 else "**missed**")
        rows.append((
            f"entity pages, never visited before, p99 at concurrency {top}, under 50 ms",
            f"{cell(p99)} ms", "", "", verdict,
        ))  # fmt: skip
    return rows


# ---------------------------------------------------------------- issue 17's targets

GOALS_17 = {
    0: "every route answers 200 at 1M triples, its first visit within 0.5 s, after that under "
    "100 ms (embedded, over Virtuoso and over the Oxigraph server)",
    1: "lookups: median at c1 at most 2× the Oxigraph server's; q/s at c8 at least ½ of its",
    2: "costly queries (aggregate, join + ORDER BY, label search): median at most 1.1× the "
    "Oxigraph server's, at c1 and at c8",
    3: "entity pages at c8: never visited p99 under 50 ms; visited before p99 under 5 ms",
    4: "peak PSS at most ½ of rdflib-endpoint's; with the runaway query at most its peak",
    5: "ready at most the Oxigraph server's bulk load (`oxigraph load`) + 3 s",
    6: "with 8 half-open sockets and 8 slow queries from 4 addresses, /healthz and an entity "
    "page within 2× their idle median",
    7: "over Virtuoso: costly queries at most 1.1× Virtuoso's own endpoint (c1, c8), lookups "
    "(c1) at most 0.5 ms above it",
}
COSTLY = ("aggregate", "join_order", "label_search")


def number(value: float | None, unit: str = "") -> str:
    """Return a figure to about three significant digits, with thousands separated."""
    if value is None:
        return "–"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return text + unit


def issue17_parts(report: dict) -> list[dict]:
    """Return every measured part of issue 17's targets, each judged against its bound.

    ``load`` is the share of its bound a part uses (above 1: missed), so a target's worst
    part is the one with the highest load.
    """
    ours = find(report, "zigraph")
    oxigraph = find(report, "oxigraph")
    rdflib = find(report, "rdflib-endpoint")
    virtuoso = find(report, "virtuoso")
    over = (virtuoso or {}).get("zigraph_over")
    parts: list[dict] = []

    def add(target, what, mine, theirs, unit, load, ratio_text="–") -> None:
        parts.append({
            "target": target, "what": what, "ours": number(mine, unit),
            "peer": number(theirs, unit), "ratio": ratio_text,
            "load": load, "met": None if load is None else load <= 1,
        })  # fmt: skip

    def at_most(target, what, mine, theirs, unit, times) -> None:
        if mine is None and theirs is not None:  # the peer answered, zigraph did not in time
            parts.append({
                "target": target, "what": what, "ours": "no answer within the time limit",
                "peer": number(theirs, unit), "ratio": "–", "load": 99.0, "met": False,
            })  # fmt: skip
            return
        share = mine / theirs if mine is not None and theirs else None
        add(target, what, mine, theirs, unit, share / times if share is not None else None,
            "–" if share is None else f"{share:.2f}")  # fmt: skip

    def figure(runs: dict, concurrency, query: str, key: str = "median_ms") -> float | None:
        return runs.get(str(concurrency), {}).get(query, {}).get(key)

    low, high = min(report["concurrency"]), max(report["concurrency"])
    for backend, crawled in (
        ("embedded", (ours or {}).get("crawl")),
        ("over Virtuoso", (over or {}).get("crawl")),
        ("over the Oxigraph server", (report.get("zigraph_over_oxigraph") or {}).get("crawl")),
    ):
        for visit in crawled or []:
            short = "Turtle" if visit["accept"] == GRAPH_TYPE else "HTML"
            answered = visit["statuses"] == [200] and visit["later_median_ms"] is not None
            load = max(visit["first_ms"] / 500, (visit["later_median_ms"] or 0) / 100)
            parts.append({
                "target": 0, "what": f"{backend}: `{visit['path']}` ({short})",
                "ours": f"{'/'.join(map(str, visit['statuses']))}, first "
                f"{number(visit['first_ms'], ' ms')}, "
                f"then {number(visit['later_median_ms'], ' ms')}",
                "peer": "–", "ratio": "–",
                "load": load if answered else 99.0, "met": answered and load <= 1,
            })  # fmt: skip
    if ours and oxigraph:
        mine, theirs = ours["runs"], oxigraph["runs"]
        at_most(1, f"lookup median, c{low}", figure(mine, low, "lookup"),
                figure(theirs, low, "lookup"), " ms", 2)  # fmt: skip
        q_ours, q_theirs = (
            figure(mine, high, "lookup", "qps"),
            figure(theirs, high, "lookup", "qps"),
        )
        share = q_ours / q_theirs if q_ours and q_theirs else None
        add(1, f"lookups per second, c{high}", q_ours, q_theirs, "",
            0.5 / share if share else None, "–" if share is None else f"{share:.2f}")  # fmt: skip
        for query in COSTLY:
            for concurrency in (low, high):
                at_most(2, f"{query} median, c{concurrency}", figure(mine, concurrency, query),
                        figure(theirs, concurrency, query), " ms", 1.1)  # fmt: skip
    if ours and ours.get("pages_failed"):
        parts.append({
            "target": 3, "what": "entity pages", "ours": ours["pages_failed"], "peer": "–",
            "ratio": "–", "load": 99.0, "met": False,
        })  # fmt: skip
    if ours and ours.get("pages"):
        cold = ours["pages"].get(str(high), {}).get("p99_ms")
        warm = ours.get("pages_again", {}).get(str(high), {}).get("p99_ms")
        add(3, f"entity pages never visited, p99 at c{high}", cold, None, " ms",
            cold / 50 if cold is not None else None)  # fmt: skip
        add(3, f"entity pages visited before, p99 at c{high}", warm, None, " ms",
            warm / 5 if warm is not None else None)  # fmt: skip
    if ours and rdflib:
        at_most(4, "peak PSS (MiB), the runaway query aside", ours["pss_peak_mib"],
                rdflib["pss_peak_mib"], "", 0.5)  # fmt: skip
        at_most(4, "peak PSS (MiB) with the runaway query", ours["pss_runaway_peak_mib"],
                rdflib["pss_runaway_peak_mib"], "", 1)  # fmt: skip
    if ours and oxigraph and oxigraph.get("bulk_load_s"):
        bound = oxigraph["bulk_load_s"] + 3
        add(5, "ready: command to first answer, against `oxigraph load` + 3 s",
            ours["ready_s"], oxigraph["bulk_load_s"], " s", ours["ready_s"] / bound,
            f"{ours['ready_s'] / oxigraph['bulk_load_s']:.2f}")  # fmt: skip
    attack = (ours or {}).get("attack")
    if attack:
        for name, label in (("healthz", "`/healthz`"), ("page", "an entity page")):
            idle, attacked = attack["idle"][name], attack["attack"][name]
            at_most(6, f"{label} median under attack, against idle", attacked["median_ms"],
                    idle["median_ms"], " ms", 2)  # fmt: skip
    if over and "runs" not in over:
        parts.append({
            "target": 7, "what": "zigraph over Virtuoso",
            "ours": " ".join(over.get("failed", "–").split()),
            "peer": "–", "ratio": "–", "load": 99.0, "met": False,
        })  # fmt: skip
    if over and virtuoso and "runs" in over:
        for query in COSTLY:
            for concurrency in (low, high):
                at_most(7, f"{query} median, c{concurrency}",
                        figure(over["runs"], concurrency, query),
                        figure(over["direct"], concurrency, query), " ms", 1.1)  # fmt: skip
        mine = figure(over["runs"], low, "lookup")
        theirs = figure(over["direct"], low, "lookup")
        if mine is not None and theirs is not None:
            add(7, f"lookup median, c{low} (bound: +0.5 ms)", mine, theirs, " ms",
                (mine - theirs) / 0.5, f"+{mine - theirs:.2f} ms")  # fmt: skip
    return parts


def issue17_rows(parts: list[dict]) -> list[dict]:
    """Return one row per target: its worst part, and met only when every part is."""
    rows = []
    for target, goal in GOALS_17.items():
        mine = [p for p in parts if p["target"] == target and p["load"] is not None]
        if not mine:
            rows.append({"target": target, "goal": goal, "verdict": "not measured"})
            continue
        worst = max(mine, key=lambda p: p["load"])
        missed = sum(1 for p in mine if not p["met"])
        verdict = "met" if not missed else f"**missed** ({missed} of {len(mine)} parts)"
        rows.append({"target": target, "goal": goal, "worst": worst, "verdict": verdict})
    return rows


def issue17_markdown(report: dict) -> list[str]:
    """Return the lines of issue 17's targets, the crawl, the attack, zigraph over Virtuoso
    and the profiles."""
    targets = report.get("targets_17")
    if not targets:
        return []
    lines = [
        "",
        "## Targets (issue 17)",
        "",
        "One row per target, showing its part furthest from its bound (every part is listed "
        "below); a target is met when every part is. ratio = zigraph's figure ÷ the peer's.",
        "",
        "| # | target | zigraph | peer | ratio | |",
        "| ---: | --- | --- | ---: | ---: | --- |",
    ]
    for row in targets["rows"]:
        worst = row.get("worst")
        if worst is None:
            lines.append(f"| {row['target']} | {row['goal']} | – | – | – | {row['verdict']} |")
            continue
        lines.append(
            f"| {row['target']} | {row['goal']} | {worst['what']}: {worst['ours']} | "
            f"{worst['peer']} | {worst['ratio']} | {row['verdict']} |"
        )
    lines += [
        "",
        "### Every part of the targets",
        "",
        "| # | part | zigraph | peer | ratio | |",
        "| ---: | --- | --- | ---: | ---: | --- |",
    ]
    for part in targets["parts"]:
        verdict = "–" if part["met"] is None else ("met" if part["met"] else "**missed**")
        lines.append(
            f"| {part['target']} | {part['what']} | {part['ours']} | {part['peer']} | "
            f"{part['ratio']} | {verdict} |"
        )
    ours = find(report, "zigraph")
    virtuoso = find(report, "virtuoso")
    over = (virtuoso or {}).get("zigraph_over")
    crawls = [
        (n, r["crawl"])
        for n, r in (
            ("embedded", ours),
            ("over Virtuoso", over),
            ("over the Oxigraph server", report.get("zigraph_over_oxigraph")),
        )
        if r and r.get("crawl")
    ]
    if crawls:
        lines += [
            "",
            "## Every route (target 0)",
            "",
            "Right after the load (over Virtuoso: after its measurements below; over the "
            "Oxigraph server: an `oxigraph serve` of its own, after `zigraph push` into it), "
            "each route once on a new connection, then up to "
            f"{report.get('crawl_repeats')} times more ({CRAWL_BUDGET:.0f} s of them at most); "
            f"the client waits {CRAWL_TIMEOUT:.0f} s (status 0: no answer by then). Status, first "
            "visit, median of the later visits.",
            "",
            "| route | Accept | " + " | ".join(n for n, _ in crawls) + " |",
            "| --- | --- |" + " --- |" * len(crawls),
        ]
        for index, visit in enumerate(crawls[0][1]):
            cells = []
            for _, crawled in crawls:
                v = crawled[index] if index < len(crawled) else None
                cells.append(
                    "–"
                    if v is None
                    else f"{'/'.join(map(str, v['statuses']))}: "
                    f"{number(v['first_ms'])} → {number(v['later_median_ms'])} ms"
                )
            lines.append(f"| `{visit['path']}` | {visit['accept']} | " + " | ".join(cells) + " |")
    remote = report.get("zigraph_over_oxigraph")
    if remote:
        lines += ["", "Over the Oxigraph server: " + "; ".join(remote.get("notes", [])) + "."]
        if "push_s" in remote:
            lines[-1] += f" `zigraph push` took {remote['push_s']} s"
            if "startup_s" in remote:
                lines[-1] += f", `zigraph serve --endpoint` answered {remote['startup_s']} s later"
            lines[-1] += "."
        if "failed" in remote:
            lines += ["", f"**Failed: {remote['failed']}**"]
    attack = (ours or {}).get("attack")
    if attack:
        lines += [
            "",
            "## Under attack (target 6)",
            "",
            f"`/healthz` and `{attack['page']}` in turn on new connections from 127.0.0.1 "
            f"(at most {PROBES} each or {PROBE_SECONDS:.0f} s), idle, then while {HALF_OPEN} "
            "sockets send a header line every 2 s and never end their headers, and "
            f"{SLOW_QUERIES} slow queries from {len(ATTACK_SOURCES)} addresses "
            f"({', '.join(ATTACK_SOURCES)}) are re-sent as soon as answered. A request that "
            f"fails counts with its time (the client gives up after {CLIENT_TIMEOUT} s). "
            f"Slow queries' answers: {attack['slow_query_statuses']}.",
            "",
            "| request | idle median ms | idle p95 ms | under attack median ms | "
            "under attack p95 ms | ratio of medians | failed under attack |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name in ("healthz", "page"):
            idle, hit = attack["idle"][name], attack["attack"][name]
            lines.append(
                f"| {name} | {idle['median_ms']} | {idle['p95_ms']} | {hit['median_ms']} | "
                f"{hit['p95_ms']} | {ratio(hit['median_ms'], idle['median_ms'])} | "
                f"{hit['failed']} of {hit['samples']} |"
            )
    if over:
        lines += [
            "",
            "## zigraph over Virtuoso (target 7)",
            "",
            f"**Failed: {over['failed']}**" if "failed" in over else "",
            "",
            f"{'; '.join(over['notes'])}. `zigraph push` took {over.get('push_s')} s, "
            f"`zigraph serve --endpoint` answered {over.get('startup_s')} s after its launch "
            f"(peak PSS {over.get('pss_peak_mib')} MiB). Each query through zigraph, then on "
            "Virtuoso's own endpoint, in turn.",
            "",
            "| query | clients | through zigraph ms | Virtuoso ms | ratio | difference ms "
            "| q/s through zigraph | q/s Virtuoso | rows | errors |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
        ]
        for concurrency, runs in over.get("runs", {}).items():
            for name, mine in runs.items():
                theirs = over["direct"][concurrency][name]
                difference = (
                    round(mine["median_ms"] - theirs["median_ms"], 2)
                    if mine["median_ms"] is not None and theirs["median_ms"] is not None
                    else None
                )
                rows = (
                    f"{cell(over['answers'].get(name))} / {cell(over['direct_answers'].get(name))}"
                )
                errors = sum(mine["errors"].values()) + sum(theirs["errors"].values())
                lines.append(
                    f"| {name} | {concurrency} | {number(mine['median_ms'])} | "
                    f"{number(theirs['median_ms'])} | "
                    f"{ratio(mine['median_ms'], theirs['median_ms'])} | {number(difference)} | "
                    f"{mine['qps']} | {theirs['qps']} | {rows} | {errors} |"
                )
    profiled = [
        (r["server"], phase, summary)
        for r in [*report["servers"], *([over] if over else [])]
        for phase, summary in (r.get("profile") or {}).items()
        if summary
    ]
    if profiled:
        lines += [
            "",
            "## Profiles",
            "",
            "py-spy `record` on each web process (its evaluators included, `--subprocesses`) "
            "during the phase (py-spy leaves out threads it sees idle). **own**: the frame "
            "running when sampled; **innermost in zigraph**: the deepest frame of zigraph's own "
            "code (`service/`) in the sample's stack, with all it called. The files (one per "
            "web process) are in the folder given to `--profile`.",
        ]
        for server, phase, summary in profiled:
            lines += ["", f"### {server}, {phase}: {summary['samples']:,} samples", ""]
            if summary["errors"]:
                lines.append(f"py-spy: {'; '.join(summary['errors'])}")
                lines.append("")
            lines += [
                "| own % | frame | | innermost in zigraph % | frame |",
                "| ---: | --- | --- | ---: | --- |",
            ]
            own, service = summary["own"], summary["service_innermost"]
            for index in range(max(len(own), len(service))):
                a = own[index] if index < len(own) else ["", ""]
                b = service[index] if index < len(service) else ["", ""]
                lines.append(f"| {a[1]} | `{a[0]}` | | {b[1]} | `{b[0]}` |")
    return lines


def markdown(report: dict) -> str:
    """Return the report as Markdown tables."""
    servers = [r for r in report["servers"] if "failed" not in r]
    zigraphs = [r for r in servers if r["server"].startswith("zigraph")]
    peers = [r for r in servers if r not in zigraphs]
    ours = next((r for r in servers if r["server"] == "zigraph"), None)
    m = report["machine"]
    lines = [
        "# zigraph SPARQL benchmark",
        "",
        "How the figures are taken and how to read them: `bench/README.md`.",
        "",
        f"- Run: {report['date']}, `{report['command']}`, zigraph at {report['revision']}, "
        f"{report.get('total_s', 0) / 60:.0f} minutes",
        f"- Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, {m['os']}, "
        f"Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
        + "; "
        + ", ".join(f"{k.split('/')[1]} {v}" for k, v in m.get("kernel_limits", {}).items())
        + (f"; zigraph's evaluators with {a}" if (a := m.get("evaluator_allocator")) else ""),
        f"- Data: {report['dataset']['triples']:,} triples ({report['dataset']['cities']} "
        f"cities, seed {report['dataset']['seed']}, sha256 {report['dataset']['sha256'][:16]}), "
        "the same N-Quads for every server",
        f"- Each figure: {report['duration']} s of back-to-back requests per query, "
        f"server and concurrency (client threads); query time limit {SERVER_TIMEOUT} s",
        "- **ratio** = zigraph's median latency / the peer's: above 1 zigraph is slower, "
        "below 1 faster. `zigraph` runs with its answer cache off, so that it evaluates every "
        "query like the peers do; `zigraph-cached` is zigraph as deployed, where a repeated "
        "query is answered from the cache (**cached**: the share of such answers)",
        "- rows: solutions (CONSTRUCT: triples) in the answer, counted once before measuring; "
        "≠ marks an answer of another size than zigraph's",
        "- load avg: the machine's 1-minute load average before the server started → after "
        f"its measurements ({report['machine']['cores']} cores; above that, other work "
        "competed for the CPU)",
    ]
    lines += issue17_markdown(report)
    goals = targets(report)
    if goals:
        lines += [
            "",
            "## Targets (issue 10)",
            "",
            "| target | zigraph | peer | ratio | |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        lines += [f"| {' | '.join(row)} |" for row in goals]
    lines += [
        "",
        "## Servers",
        "",
        "| server | version | ready s | load s | start s | PSS idle / peak MiB "
        "| RSS idle / peak MiB | PSS peak with the runaway MiB | load avg | notes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in report["servers"]:
        notes = "; ".join(r.get("notes", []))
        if "failed" in r:
            notes = f"FAILED: {r['failed'].splitlines()[0]}"
        lines.append(
            f"| {r['server']} | {r.get('version', '')} | {r.get('ready_s', '–')}"
            f"{f' (every page: {pages})' if (pages := r.get('pages_ready_s')) else ''} | "
            f"{r.get('load_s') or '–'} | {r.get('startup_s', '–')} | "
            f"{r.get('pss_idle_mib', '–')} / {r.get('pss_peak_mib', '–')} | "
            f"{r.get('rss_idle_mib', '–')} / {r.get('rss_peak_mib', '–')} | "
            f"{r.get('pss_runaway_peak_mib', '–')} | "
            f"{r.get('load_average_before', '–')} → {r.get('load_average_measured', '–')} | "
            f"{notes} |"
        )
    for skipped, why in report.get("skipped", {}).items():
        lines.append(f"| {skipped} | – | – | – | – | – | – | – | – | skipped: {why} |")
    if ours and any(f["cache_hits"] for f in all_runs(ours)):
        lines += [
            "",
            "**Warning: `zigraph` answered from its cache; its figures are not evaluation.**",
        ]
    ratio_heads = "".join(f" zigraph/{p['server']} |" for p in peers)
    for concurrency in report["concurrency"]:
        lines += [
            "",
            f"## Concurrency {concurrency}",
            "",
            "| query | server | median ms | p99 ms | q/s | errors | rows | cached |" + ratio_heads,
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |" + " ---: |" * len(peers),
        ]
        for query in report["queries"]:
            if query["runaway"]:
                continue
            for r in servers:
                rows = cell(r["answers"].get(query["name"]))
                if ours and rows != cell(ours["answers"].get(query["name"])):
                    rows += " ≠"  # a different answer from zigraph's: not comparable
                slow = r.get("slow", {}).get(query["name"])
                if slow:
                    answer = f"status {slow['status']}" if slow["status"] else "no answer"
                    lines.append(
                        f"| {query['name']} | {r['server']} | one request: {answer} after "
                        f"{slow['seconds']} s; not measured further | | | | {rows} | |"
                        + " |"
                        * len(peers)
                    )
                    continue
                f = r["runs"][str(concurrency)][query["name"]]
                errors = sum(f["errors"].values())
                cached = "–"
                if r in zigraphs and f["ok"]:
                    cached = f"{100 * f['cache_hits'] // f['ok']} %"
                row = (
                    f"| {query['name']} | {r['server']} | {f['median_ms'] or '–'} | "
                    f"{f.get('p99_ms') or '–'} | {f['qps']} | {errors} | {rows} | {cached} |"
                )
                if r in zigraphs:
                    for peer in peers:
                        theirs = peer["runs"].get(str(concurrency), {}).get(query["name"], {})
                        row += f" **{ratio(f['median_ms'], theirs.get('median_ms'))}** |"
                else:
                    row += " |" * len(peers)
                lines.append(row)
    paged = [r for r in zigraphs if r.get("pages")]
    if paged:
        lines += [
            "",
            "## Entity pages (zigraph only)",
            "",
            "HTML entity pages (`GET /doc/…`, `Accept: text/html`) of agencies, conferrals, "
            "pipelines, stages, cities, governments and passages in turn, each page requested "
            "once: no page was visited before, so neither its HTML nor its queries' answers "
            f"are cached. {WARM_PAGES} other pages are visited first, uncounted.",
            "",
            "| server | concurrency | pages | median ms | p95 ms | p99 ms | pages/s | errors |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in paged:
            again = {f"{c}, visited before": f for c, f in r.get("pages_again", {}).items()}
            for concurrency, f in {**r["pages"], **again}.items():
                lines.append(
                    f"| {r['server']} | {concurrency} | {f['ok']} | {f['median_ms']} | "
                    f"{f['p95_ms']} | {f['p99_ms']} | {f['qps']} | "
                    f"{sum(f['errors'].values())} |"
                )
    if ours and ours.get("engine_ms"):
        c1 = ours["runs"][str(report["concurrency"][0])]
        lines += [
            "",
            "## Where zigraph's time goes",
            "",
            "The same queries on the same store evaluated by pyoxigraph in the benchmark's own "
            "process (no HTTP, no worker hop, no serialization), against zigraph's median over "
            f"HTTP at concurrency {report['concurrency'][0]}.",
            "",
            "| query | pyoxigraph in-process ms | zigraph over HTTP ms | difference ms |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, floor in ours["engine_ms"].items():
            http = c1[name]["median_ms"]
            difference = round(http - floor, 2) if http is not None else "–"
            lines.append(f"| {name} | {floor} | {http or '–'} | {difference} |")
    lines += [
        "",
        "## Runaway query",
        "",
        "`" + next(q["text"] for q in report["queries"] if q["runaway"]) + "`, sent twice "
        f"(the second only if the first was answered; the client gives up after "
        f"{CLIENT_TIMEOUT} s), then one lookup to see whether the server still answers.",
        "",
        "| server | 1st: status, s | 2nd: status, s | lookup after: status, s |",
        "| --- | --- | --- | --- |",
    ]
    for r in servers:
        attempts = r["runaway"]["attempts"]
        after = r["runaway"]["lookup_after"]
        cells = [f"{a['status']}, {a['seconds']}" for a in attempts] + ["not sent"]
        lines.append(
            f"| {r['server']} | {cells[0]} | {cells[1]} | "
            f"{after['status'] or 'no answer'}, {after['seconds']} |"
        )
    lines += ["", "## Queries", ""]
    for query in report["queries"]:
        lines.append(f"- **{query['name']}**: {query['about']}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=generate.parse_scale, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--duration", type=float, default=5, help="seconds per query, server and concurrency"
    )
    parser.add_argument(
        "--concurrency", type=lambda s: [int(c) for c in s.split(",")], default=[1, 8]
    )
    parser.add_argument(
        "--servers",
        default="zigraph,zigraph-cached,oxigraph,rdflib-endpoint,virtuoso,zigraph-virtuoso,"
        "zigraph-oxigraph",
        help="comma-separated, from zigraph (answer cache off), zigraph-cached, oxigraph, "
        "rdflib-endpoint, virtuoso, zigraph-virtuoso (zigraph serve --endpoint in front of "
        "the Virtuoso, measured while it runs; needs virtuoso), zigraph-oxigraph (the routes "
        "crawled through zigraph serve --endpoint in front of an Oxigraph server of its own, "
        "after zigraph push)",
    )
    parser.add_argument("--zigraph-workers", type=int, default=2, help="web workers (default 2)")
    parser.add_argument(
        "--zigraph-threads",
        type=int,
        default=32,
        help="threads per web worker (default 32, zigraph serve's own default)",
    )
    parser.add_argument(
        "--pages",
        type=int,
        default=300,
        help="entity pages visited once each, per concurrency (zigraph only; 0: none)",
    )
    parser.add_argument(
        "--crawl-repeats",
        type=int,
        default=5,
        help="visits of each route after the first, in the crawl of every route (0: no crawl)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run py-spy record on zigraph's web processes during the lookups and the entity "
        "pages; its files go to DIR, the top frames to the report",
    )
    parser.add_argument("--profile-format", choices=("raw", "speedscope"), default="raw")
    parser.add_argument("--startup-timeout", type=float, default=180)
    parser.add_argument(
        "--quiet-load",
        type=float,
        help="before each server, wait until the 1-minute load average is below this",
    )
    parser.add_argument("--quiet-wait", type=float, default=300, help="most seconds to wait")
    parser.add_argument("--workdir", type=Path, help="where stores go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the stores and logs")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest")
    args = parser.parse_args(argv)

    started = time.monotonic()
    folder, manifest = generate.ensure(args.scale, args.seed)
    data = folder / manifest["files"]["nquads"]
    queries = query_mix(manifest["samples"])
    args.routes = crawl_routes(largest_classes(data, 3), manifest["samples"]["city_name"])
    args.sample_page = "/doc/" + manifest["samples"]["agency"][len(ID_BASE) :]
    names = args.servers.split(",")
    args.over_virtuoso = "zigraph-virtuoso" in names
    if args.over_virtuoso and "virtuoso" not in names:
        names.append("virtuoso")  # zigraph-virtuoso is measured while Virtuoso runs
    low = {n: v for n, v in kernel_limits().items() if v < KERNEL_LIMITS[n]}
    if "oxigraph" in names and low:
        settings = " ".join(f"{n.replace('/', '.')}={KERNEL_LIMITS[n]}" for n in low)
        parser.error(
            f"the Oxigraph server keeps a thread per query for its time limit and runs out of "
            f"threads under these kernel limits ({low}); as root: sysctl -w {settings}"
        )
    if args.profile and not PY_SPY.exists():
        parser.error(f"--profile needs py-spy: {PY_SPY} is missing (pip install py-spy)")
    known = {
        "zigraph": lambda: Zigraph(args.zigraph_workers, args.zigraph_threads, False),
        "zigraph-cached": lambda: Zigraph(args.zigraph_workers, args.zigraph_threads, True),
        "oxigraph": Oxigraph,
        "rdflib-endpoint": RdflibEndpoint,
        "virtuoso": Virtuoso,
    }
    report: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "revision": revision(),
        "dataset": {k: manifest[k] for k in ("triples", "cities", "seed", "sha256")},
        "duration": args.duration,
        "concurrency": args.concurrency,
        "crawl_repeats": args.crawl_repeats,
        "queries": [q.__dict__ for q in queries],
        "servers": [],
        "skipped": {},
    }
    for name in names:
        if name in ("zigraph-virtuoso", "zigraph-oxigraph"):
            continue
        server = known[name]()
        why = server.available()
        if why:
            report["skipped"][name] = why
            print(f"{name}: skipped, {why}", flush=True)
            continue
        print(f"{name} {server.version}", flush=True)
        report["servers"].append(benchmark_server(server, data, queries, args))
    if args.over_virtuoso and "virtuoso" in report["skipped"]:
        report["skipped"]["zigraph-virtuoso"] = "needs virtuoso"
    if "zigraph-oxigraph" in names:
        if not (PROJECT_BIN / "oxigraph").exists():
            report["skipped"]["zigraph-oxigraph"] = "the oxigraph binary is missing"
        elif not args.crawl_repeats:
            report["skipped"]["zigraph-oxigraph"] = "--crawl-repeats 0: it measures only its crawl"
        else:
            print("zigraph over the Oxigraph server", flush=True)
            report["load_average_before_oxigraph"] = wait_quiet(args.quiet_load, args.quiet_wait)
            workdir = Path(
                tempfile.mkdtemp(prefix="zigraph-bench-zigraph-oxigraph-", dir=args.workdir)
            )
            try:
                report["zigraph_over_oxigraph"] = zigraph_over_oxigraph(data, workdir, args)
            except (RuntimeError, OSError, subprocess.SubprocessError) as error:
                report["zigraph_over_oxigraph"] = {"failed": str(error), "notes": []}
                print(f"  zigraph-oxigraph: FAILED {error}", flush=True)
            finally:
                if not args.keep:
                    shutil.rmtree(workdir, ignore_errors=True)
    report["total_s"] = round(time.monotonic() - started, 1)
    parts = issue17_parts(report)
    report["targets_17"] = {"rows": issue17_rows(parts), "parts": parts}

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.output.with_suffix(".md").write_text(markdown(report))
    print(f"wrote {args.output.with_suffix('.md')} in {report['total_s']} s")
    return 0 if not any("failed" in r for r in report["servers"]) else 1


if __name__ == "__main__":
    sys.exit(main())
