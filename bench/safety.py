"""Measure what query safety costs and what it protects, before and after, side by side.

Two checkouts of zigraph run on the shipped data: this one ("after") and an older one given
with ``--before`` (for example ``git worktree add /tmp/zigraph-before f83a9f2``). Each is
started with ``zigraph serve`` (2 workers) on a free loopback port, measured, and stopped:

1. the pre-check of a query of 1, 10, 50 and 1,000 triple patterns, in process;
2. entity pages: a first visit to every entity page at concurrency 1 and 8 (median, p99),
   next to the median of a static file from the same server;
3. under attack: a cheap query and an entity page (p95, p99) while two 6,000-pattern queries
   and four runaway cross products are re-sent, against the same when idle;
4. a 32-client load (pages, search, small queries, healthz, a dump) while a web process and
   an evaluator are killed: requests lost, and processes left running afterwards.

    python bench/safety.py --before /tmp/zigraph-before --attack 60 --load 60

The figures go to ``bench/results/safety.md`` and ``bench/results/safety.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from run import free_port, parent_of, process_tree  # bench/run.py, beside this file

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
ID_BASE = "https://w3id.org/zigraph/id/"
CHEAP_QUERY = "SELECT ?s WHERE { ?s a <https://w3id.org/zigraph/ontology#Organisation> } LIMIT 5"
RUNAWAY_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
PROBE_ADDRESS = "127.0.0.2"  # the measuring client; the attackers send from 127.0.0.1
WIDE_QUERY = "SELECT * WHERE { " + " ".join(f"?s ?p{i} ?o{i} ." for i in range(6000)) + " }"


# The checkout's own code, whichever is installed: PYTHONPATH puts the checkout first.
ZIGRAPH = [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]


# --- servers --------------------------------------------------------------------------------


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Server:
    """``zigraph serve`` of one checkout on a free port."""

    def __init__(self, checkout: Path, name: str) -> None:
        self.checkout, self.name = checkout, name
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(self.checkout), "ZIGRAPH_QUERY_TIMEOUT": "10"}
        env.pop("ZIGRAPH_STORE_DIR", None)
        self.log = open(RESULTS / f"safety-{self.name}.log.tmp", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [*ZIGRAPH, "serve", "--port", str(self.port)],
            cwd=self.checkout,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if get(self.port, "/healthz")[0] == 200:
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> list[int]:
        """Stop the server and return the ids of its processes still running 10 s later."""
        tree = process_tree(self.process.pid)[1:]
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        time.sleep(10)
        left = [pid for pid in tree if alive(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        self.log.close()
        return left


def send(
    port: int,
    path: str,
    *,
    form: dict[str, str] | None = None,
    accept: str = "application/json, text/html;q=0.5",
    timeout: float = 30.0,
    source: str = "127.0.0.1",
) -> tuple[int, float, bytes]:
    """GET a path, or POST a form to it; return the status (0 when the connection failed),
    the seconds it took and the body.

    :param source: the loopback address to send from: another address is another client.
    """
    started = time.perf_counter()
    # Bound to an address before connecting, a socket gets a port that no connection of the
    # last minute holds in TIME_WAIT: the load's 32 clients ran out of them ("Address already
    # in use", counted as failed). Left to connect(), the kernel reuses such ports on loopback.
    bound = (source, 0) if source != "127.0.0.1" else None
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=bound
    )
    headers = {"Accept": accept}
    try:
        if form is None:
            connection.request("GET", path, headers=headers)
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request("POST", path, body=urlencode(form), headers=headers)
        response = connection.getresponse()
        body = response.read()
        return response.status, time.perf_counter() - started, body
    except (OSError, http.client.HTTPException):
        return 0, time.perf_counter() - started, b""
    finally:
        connection.close()


def get(port: int, path: str, **options) -> tuple[int, float]:
    """GET a path; return the status and the seconds it took."""
    return send(port, path, **options)[:2]


def post_query(port: int, sparql: str, timeout: float = 60.0) -> tuple[int, float]:
    """POST a query to /sparql; return the status and the seconds it took."""
    return send(
        port,
        "/sparql",
        form={"query": sparql},
        accept="application/sparql-results+json",
        timeout=timeout,
    )[:2]


def sparql_path(sparql: str) -> str:
    return "/sparql?" + urlencode({"query": sparql})


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def entity_paths(port: int) -> list[str]:
    sparql = (
        "SELECT DISTINCT ?s WHERE { ?s ?p ?o "
        f'FILTER(STRSTARTS(STR(?s), "{ID_BASE}")) }} ORDER BY ?s'
    )
    _, _, body = send(port, sparql_path(sparql), accept="application/json", timeout=60)
    rows = json.loads(body)["results"]["bindings"]
    return ["/doc/" + quote(row["s"]["value"][len(ID_BASE) :]) for row in rows]


# --- 1: the pre-check -----------------------------------------------------------------------


CHECK_SCRIPT = """
import json, sys, time
sys.setrecursionlimit(60000)
import service.querysafety as q
def query(n):
    return "SELECT * WHERE { " + " ".join(f"?s <urn:p{i}> ?o{i} ." for i in range(n)) + " }"
check = getattr(q, "_decide", None) or __import__("service.queryparser").queryparser.parse_query
out = {}
for n in (1, 10, 50, 1000):
    text = query(n)
    check(text)
    runs = 200 if n < 1000 else 5
    started = time.perf_counter()
    for _ in range(runs):
        check(text)
    out[n] = (time.perf_counter() - started) / runs * 1e6
print(json.dumps(out))
"""


def check_cost(checkout: Path) -> dict:
    """Return microseconds per check of the pre-check of a checkout, in process."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    output = subprocess.run(
        [sys.executable, "-c", CHECK_SCRIPT],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {int(k): v for k, v in json.loads(output).items()}


# --- 2: entity pages ------------------------------------------------------------------------


def crawl(port: int, paths: list[str], concurrency: int) -> dict:
    latencies: list[float] = []
    failures = 0
    pending = list(paths)
    lock = threading.Lock()

    def work() -> None:
        nonlocal failures
        while True:
            with lock:
                if not pending:
                    return
                path = pending.pop()
            status, seconds = get(port, path)
            with lock:
                latencies.append(seconds)
                failures += status != 200

    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "pages": len(latencies),
        "failures": failures,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99),
    }


def static_median(port: int) -> float:
    times = [get(port, "/static/zigraph.css")[1] for _ in range(200)]
    return statistics.median(times) * 1000


def restart(server: Server) -> None:
    server.stop()
    server.port = free_port()
    server.start()


# --- 3: under attack ------------------------------------------------------------------------


def probe(port: int, page: str, seconds: float) -> dict:
    cheap, pages = [], []
    until = time.monotonic() + seconds
    while time.monotonic() < until:  # another client than the attackers, each query uncached
        query = sparql_path(CHEAP_QUERY + f" # {len(cheap)}")
        cheap.append(get(port, query, source=PROBE_ADDRESS)[1])
        pages.append(get(port, page, source=PROBE_ADDRESS)[1])
        health = get(port, "/healthz", source=PROBE_ADDRESS)[1]
    return {
        "cheap_p95_ms": percentile(cheap, 0.95),
        "cheap_p99_ms": percentile(cheap, 0.99),
        "page_p95_ms": percentile(pages, 0.95),
        "page_p99_ms": percentile(pages, 0.99),
        "healthz_last_ms": health * 1000,
        "samples": len(cheap),
    }


def under_attack(port: int, page: str, seconds: float) -> dict:
    stop = threading.Event()
    statuses: dict[int, int] = {}

    def attacker(query: str) -> None:
        while not stop.is_set():
            status, elapsed = post_query(port, query)
            statuses[status] = statuses.get(status, 0) + 1
            if elapsed < 10:  # refused or answered early: re-send no sooner than every 10 s
                stop.wait(10 - elapsed)

    attackers = [threading.Thread(target=attacker, args=(WIDE_QUERY,)) for _ in range(2)]
    attackers += [threading.Thread(target=attacker, args=(RUNAWAY_QUERY,)) for _ in range(4)]
    for thread in attackers:
        thread.start()
    time.sleep(2)
    figures = probe(port, page, seconds)
    stop.set()
    for thread in attackers:
        thread.join(90)
    figures["attack_statuses"] = statuses
    return figures


# --- 4: load while processes are killed -----------------------------------------------------


def load_with_kills(server: Server, paths: list[str], seconds: float) -> dict:
    port = server.port
    mix = [
        *paths[:20],
        "/search?q=pekalongan",
        sparql_path(CHEAP_QUERY),
        "/healthz",
        "/download/zigraph.nq",
    ]
    counts = {"sent": 0, "ok": 0, "failed": 0}
    lock = threading.Lock()
    until = time.monotonic() + seconds

    def client(number: int) -> None:
        index = number
        while time.monotonic() < until:
            status, _ = get(port, mix[index % len(mix)], timeout=60)
            index += 1
            with lock:
                counts["sent"] += 1
                counts["ok" if status == 200 else "failed"] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    killed = {}
    time.sleep(seconds / 3)
    # gunicorn's master, its web processes, their forkservers, and the evaluators below them.
    by_depth = processes_by_depth(server.process.pid)
    if by_depth.get(1):
        os.kill(by_depth[1][0], signal.SIGKILL)
        killed["web process"] = by_depth[1][0]
    time.sleep(seconds / 3)
    by_depth = processes_by_depth(server.process.pid)
    if by_depth.get(3):
        os.kill(by_depth[3][0], signal.SIGKILL)
        killed["evaluator"] = by_depth[3][0]
    for thread in threads:
        thread.join()
    return {**counts, "killed": killed}


def processes_by_depth(root: int) -> dict[int, list[int]]:
    """Return the processes below ``root`` grouped by how many levels below it they are."""
    depths: dict[int, list[int]] = {}
    for pid in process_tree(root)[1:]:
        depth, current = 0, pid
        while current not in (None, root, 0, 1):
            current = parent_of(current)
            depth += 1
        if current == root:
            depths.setdefault(depth, []).append(pid)
    return depths


# --- the run --------------------------------------------------------------------------------


def measure(checkout: Path, name: str, args) -> dict:
    result: dict = {"check_us": check_cost(checkout)}
    server = Server(checkout, name)
    server.start()
    try:
        paths = entity_paths(server.port)
        result["static_median_ms"] = static_median(server.port)
        for concurrency in (1, 8):
            restart(server)  # every page's first visit
            result[f"pages_c{concurrency}"] = crawl(server.port, paths, concurrency)
        page = paths[len(paths) // 2]
        result["idle"] = probe(server.port, page, 10)
        result["attack"] = under_attack(server.port, page, args.attack)
        restart(server)
        result["load"] = load_with_kills(server, paths, args.load)
    finally:
        result["left_running"] = server.stop()
    return result


def markdown(report: dict) -> str:
    rows = ["| measure | before | after | after ÷ before |", "| --- | ---: | ---: | ---: |"]
    before, after = report.get("before"), report["after"]

    def row(label: str, pick) -> None:
        b = pick(before) if before else None
        a = pick(after)
        ratio = f"{a / b:.2f}" if b else ""
        rows.append(f"| {label} | {'' if b is None else f'{b:.3g}'} | {a:.3g} | {ratio} |")

    for n in (1, 10, 50, 1000):
        row(f"pre-check, {n} patterns (µs)", lambda r, n=n: r["check_us"][n])
    row("static file median (ms)", lambda r: r["static_median_ms"])
    for c in (1, 8):
        row(f"entity page median, c{c} (ms)", lambda r, c=c: r[f"pages_c{c}"]["median_ms"])
        row(f"entity page p99, c{c} (ms)", lambda r, c=c: r[f"pages_c{c}"]["p99_ms"])
    for state in ("idle", "attack"):
        for key in ("cheap_p95_ms", "cheap_p99_ms", "page_p95_ms", "page_p99_ms"):
            row(f"{state}: {key.replace('_ms', '')} (ms)", lambda r, s=state, k=key: r[s][k])
        row(f"{state}: last /healthz (ms)", lambda r, s=state: r[s]["healthz_last_ms"])
    row("load: requests sent", lambda r: r["load"]["sent"])
    row("load: requests failed", lambda r: r["load"]["failed"])
    row("processes left running", lambda r: len(r["left_running"]))
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--attack", type=float, default=60.0, help="seconds under attack")
    parser.add_argument("--load", type=float, default=60.0, help="seconds of the load test")
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    report = {"load_average": os.getloadavg()}
    if args.before:
        report["before"] = measure(args.before.resolve(), "before", args)
    report["after"] = measure(ROOT, "after", args)
    report["load_average_after"] = os.getloadavg()
    (RESULTS / "safety.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "safety.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
