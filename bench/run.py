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
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
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
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
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
        self.workers = workers
        self.threads = threads
        self.answer_cache = answer_cache
        self.loads_at_start = True  # `zigraph serve --data` streams the file into its store
        self.version = metadata.version("zigraph")
        # The benchmark's clients all send from one address: the per-address bound (a guard
        # for a public endpoint, which the peers lack) would answer most of them 429.
        self.env = {"ZIGRAPH_QUERY_TIMEOUT": str(SERVER_TIMEOUT), "ZIGRAPH_QUERIES_PER_CLIENT": "0"}
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
        loaded = run_quietly([str(self.binary), "load", location, f"--file={data}"], log)
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
ResultSetMaxRows = 10000
MaxQueryExecutionTime = {timeout}
MaxQueryCostEstimationTime = 0
DefaultQuery = SELECT * WHERE {{ ?s ?p ?o }} LIMIT 1
"""


# ---------------------------------------------------------------- the client


class Client:
    """A SPARQL Protocol client on one keep-alive connection (one per thread)."""

    def __init__(self, port: int, path: str) -> None:
        self.port = port
        self.path = path
        self.connection: http.client.HTTPConnection | None = None

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
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=timeout
                )
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
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=CLIENT_TIMEOUT
                )
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
                figures = measure(port, server.path, query, concurrency, args.duration)
                drain(port, server.path)
                result["runs"].setdefault(str(concurrency), {})[query.name] = figures
                print(
                    f"  {server.name} c={concurrency} {query.name}: "
                    f"median {figures['median_ms']} ms, p99 {figures['p99_ms']} ms, "
                    f"{figures['qps']} q/s, errors {figures['errors'] or 0}",
                    flush=True,
                )
        if isinstance(server, Zigraph) and args.pages:
            pages = entity_pages(port, server.path, WARM_PAGES + args.pages * len(args.concurrency))
            measure_pages(port, pages[:WARM_PAGES], max(args.concurrency))
            pages = pages[WARM_PAGES:]
            result["pages"] = {}
            for concurrency in args.concurrency:
                # Pages never visited before: no answer of the page's own queries is cached.
                figures = measure_pages(port, pages[: args.pages], concurrency)
                pages = pages[args.pages :]
                result["pages"][str(concurrency)] = figures
                print(
                    f"  {server.name} c={concurrency} entity pages: median "
                    f"{figures['median_ms']} ms, p99 {figures['p99_ms']} ms, errors "
                    f"{figures['errors'] or 0}",
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
        result["runaway"] = runaway(port, server.path, queries)
        sampler.stop()
        result["pss_runaway_peak_mib"] = mib(sampler.peak_pss)
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
    }


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
        f"Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v),
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
            f"| {r['server']} | {r.get('version', '')} | {r.get('ready_s', '–')} | "
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
            for concurrency, f in r["pages"].items():
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
        default="zigraph,zigraph-cached,oxigraph,rdflib-endpoint,virtuoso",
        help="comma-separated, from zigraph (answer cache off), zigraph-cached, oxigraph, "
        "rdflib-endpoint, virtuoso",
    )
    parser.add_argument("--zigraph-workers", type=int, default=2, help="web workers (default 2)")
    parser.add_argument(
        "--zigraph-threads", type=int, default=4, help="threads per web worker (default 4)"
    )
    parser.add_argument(
        "--pages",
        type=int,
        default=300,
        help="entity pages visited once each, per concurrency (zigraph only; 0: none)",
    )
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
        "queries": [q.__dict__ for q in queries],
        "servers": [],
        "skipped": {},
    }
    for name in args.servers.split(","):
        server = known[name]()
        why = server.available()
        if why:
            report["skipped"][name] = why
            print(f"{name}: skipped, {why}", flush=True)
            continue
        print(f"{name} {server.version}", flush=True)
        report["servers"].append(benchmark_server(server, data, queries, args))
    report["total_s"] = round(time.monotonic() - started, 1)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.output.with_suffix(".md").write_text(markdown(report))
    print(f"wrote {args.output.with_suffix('.md')} in {report['total_s']} s")
    return 0 if not any("failed" in r for r in report["servers"]) else 1


if __name__ == "__main__":
    sys.exit(main())
