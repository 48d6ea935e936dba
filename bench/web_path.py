"""Where a lookup's time goes on its way through zigraph, layer by layer (issue 17, target 1).

Over a built zigraph store (``--store``: a ``--store-dir`` of ``zigraph serve``, for example
the million triples of ``make bench``), each layer is timed on the same lookup (the
predicates and objects of a subject, a different subject and LIMIT each time, so that no
cache answers), median of ``--requests`` in a row, one at a time:

- **engine**: pyoxigraph's ``Store.query`` in this process, the rows read;
- **parse**: zigraph's parser (``parse_query``), which every client query goes through;
- **evaluator hop**: the query run in a client evaluator (``EvaluatorPool.run``), the process
  without network where every client query runs, the answer back;
- **WSGI app**: zigraph's Flask application called directly with the request's environ
  (no HTTP server), the answer's bytes joined;
- over HTTP, one keep-alive connection: a WSGI app that answers ``ok`` and a Flask app that
  does the same (the servers' floors), zigraph's CSS file (zigraph's hooks without a query),
  and the lookup through ``/sparql``; each under gunicorn's threaded worker as ``zigraph
  serve`` runs it, and under granian (a Rust HTTP server for WSGI apps) when it is importable
  (``--granian PATH`` adds a folder holding it to the path).

    python bench/web_path.py --store /path/to/store --output bench/results/web-path.md
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from run import free_port  # bench/run.py, beside this file

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
ZI = "https://w3id.org/zigraph/ontology#"
ACCEPT = "application/sparql-results+json"

FLOOR_APPS = """
def plain(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]

from flask import Flask
flask_app = Flask(__name__)

@flask_app.get("/ok")
def ok():
    return "ok"
"""
ZIGRAPH_APP = """
import os
from service import create_app
from service.store import get_store
app = create_app({{"STORE_DIR": {store!r}, "PUBLIC_URL": "http://127.0.0.1:{port}"}})
with app.app_context():
    get_store().start()
"""
GUNICORN_ZIGRAPH = """
import sys
sys.path.insert(0, {root!r})
from service.server import gunicorn_options, prepare_app, run_gunicorn
run_gunicorn(gunicorn_options("127.0.0.1", {port}, 1, 32, 10),
             prepare_app({{"STORE_DIR": {store!r}, "PUBLIC_URL": "http://127.0.0.1:{port}"}}))
"""


def median_ms(run: Callable[[], object], requests: int) -> float:
    """Return the median milliseconds of ``run()``, the first tenth not counted (warm-up)."""
    times = []
    for _ in range(requests + requests // 10):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times[requests // 10 :]) * 1000, 3)


def subjects_of(store_path: Path) -> list[str]:
    import pyoxigraph as ox

    store = ox.Store.read_only(str(store_path))
    query = f"SELECT ?s WHERE {{ ?s a <{ZI}City> }} LIMIT 5000"
    found = [s["s"].value for s in store.query(query, use_default_graph_as_union=True)]
    del store
    if not found:
        raise SystemExit(f"no zi:City in the store at {store_path}")
    return found


def lookups(subjects: list[str]) -> Callable[[], str]:
    def next_query() -> str:
        subject = random.choice(subjects)
        return f"SELECT ?p ?o WHERE {{ <{subject}> ?p ?o }} LIMIT {random.randint(20, 10**6)}"

    return next_query


def in_process(store_path: Path, queries: Callable[[], str], requests: int) -> dict:
    """Time the engine, the parser, the evaluator hop and the WSGI app in this process."""
    import pyoxigraph as ox
    from werkzeug.test import EnvironBuilder

    from service import create_app
    from service.queryparser import parse_query
    from service.store import get_store
    from service.store.embedded import EmbeddedBackend, run_query

    figures = {}
    engine = ox.Store.read_only(str(store_path))  # read-only: beside the evaluators' own
    figures["engine"] = median_ms(
        lambda: list(engine.query(queries(), use_default_graph_as_union=True)), requests
    )
    figures["parse"] = median_ms(lambda: parse_query(queries()), requests)
    backend = EmbeddedBackend(store_path, isolation="netns", evaluators=1, service_evaluators=1)
    backend.start()
    try:
        figures["evaluator hop"] = median_ms(
            lambda: backend.client_pool.run(
                run_query, time.monotonic() + 10, sparql=parse_query(queries()).text
            ),
            requests,
        )
    finally:
        backend.close()
    app = create_app({"STORE_DIR": str(store_path), "RESULT_CACHE_MB": 0})
    with app.app_context():
        get_store().start()

    def call() -> bytes:
        environ = EnvironBuilder(
            path="/sparql", query_string={"query": queries()}, headers={"Accept": ACCEPT}
        ).get_environ()
        environ["REMOTE_ADDR"] = "127.0.0.1"
        return b"".join(app(environ, lambda *arguments: None))

    figures["WSGI app (no HTTP server)"] = median_ms(call, requests)
    with app.app_context():
        get_store().close()
    return figures


def over_http(port: int, paths: Callable[[], str], requests: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get() -> None:
        connection.request("GET", paths(), headers={"Accept": ACCEPT})
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{answer.status} from port {port}")

    try:
        return median_ms(get, requests)
    finally:
        connection.close()


def wait_port(port: int, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/ok")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port} in {seconds} s")


def served(command: list[str], port: int, folder: Path, env: dict) -> subprocess.Popen:
    log = (folder / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    wait_port(port, process)
    return process


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def servers(store: Path, queries: Callable[[], str], requests: int, granian: str | None) -> dict:
    """Time the floors and zigraph over HTTP, under gunicorn and (if found) granian."""
    folder = Path(tempfile.mkdtemp(prefix="zigraph-web-path-"))
    (folder / "floor.py").write_text(FLOOR_APPS)
    python = sys.executable
    path = os.pathsep.join(p for p in (granian, str(folder), str(ROOT)) if p)
    env = {**os.environ, "PYTHONPATH": path, "ZIGRAPH_RESULT_CACHE_MB": "0"}
    env["ZIGRAPH_QUERIES_PER_CLIENT"] = "0"
    lookup = lambda: "/sparql?query=" + quote(queries())  # noqa: E731
    routes = {
        "floor: WSGI app answering ok": ("plain", lambda: "/ok"),
        "floor: Flask app answering ok": ("flask_app", lambda: "/ok"),
        "zigraph: its CSS file": ("zigraph", lambda: "/static/zigraph.css"),
        "zigraph: the lookup": ("zigraph", lookup),
    }
    runners: dict[str, Callable[[str, int], list[str]]] = {
        "gunicorn gthread": lambda target, port: (
            [python, "-c", GUNICORN_ZIGRAPH.format(root=str(ROOT), port=port, store=str(store))]
            if target == "zigraph"
            else [
                python,
                "-m",
                "gunicorn",
                "-k",
                "gthread",
                "--threads",
                "32",
                "-w",
                "1",
                "-b",
                f"127.0.0.1:{port}",
                f"floor:{target}",
            ]
        ),  # fmt: skip
    }
    probe = subprocess.run(
        [python, "-c", "import granian"], env=env, capture_output=True, check=False
    )
    if probe.returncode == 0:

        def granian_command(target: str, port: int) -> list[str]:
            if target == "zigraph":
                (folder / f"zapp{port}.py").write_text(
                    ZIGRAPH_APP.format(store=str(store), port=port)
                )
                target = f"zapp{port}:app"
            else:
                target = f"floor:{target}"
            return [python, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
                    "--port", str(port), "--workers", "1", "--blocking-threads", "8",
                    target]  # fmt: skip

        runners["granian"] = granian_command
    figures: dict = {}
    for server, command in runners.items():
        started: dict[str, tuple[subprocess.Popen, int]] = {}
        try:
            for route, (target, paths) in routes.items():
                if target not in started:
                    port = free_port()
                    started[target] = (served(command(target, port), port, folder, env), port)
                figures.setdefault(route, {})[server] = over_http(
                    started[target][1], paths, requests
                )
                print(f"  {route}, {server}: {figures[route][server]} ms", flush=True)
        finally:
            for process, _ in started.values():
                stop(process)
    return figures


def report(args, layers: dict, http_figures: dict) -> str:
    import gunicorn

    lines = [
        "# Where a lookup's time goes",
        "",
        f"- Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"`python bench/web_path.py --store STORE --requests {args.requests}"
        f"{' --granian DIR' if args.granian else ''}`",
        f"- Machine: {os.cpu_count()} cores, {platform.platform()}, Python "
        f"{platform.python_version()}, gunicorn {gunicorn.__version__}",
        f"- Load average when it ended: {os.getloadavg()[0]:.2f} (2 cores; above 1, other work "
        "shared the CPU)",
        f"- Store: {args.store_triples:,} triples; each figure the median of {args.requests} "
        "requests one at a time (HTTP: over one keep-alive connection), a different subject "
        "and LIMIT each time, zigraph's answer cache off",
        "",
        "| layer | median ms |",
        "| --- | ---: |",
        *(f"| {layer} | {ms} |" for layer, ms in layers.items()),
        "",
        "| over HTTP | " + " | ".join(next(iter(http_figures.values()), {}).keys()) + " |",
        "| --- |" + " ---: |" * len(next(iter(http_figures.values()), {})),
        *(
            f"| {route} | " + " | ".join(f"{ms} ms" for ms in by_server.values()) + " |"
            for route, by_server in http_figures.items()
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a built zigraph store")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--granian", help="a folder to import granian from, if not installed")
    parser.add_argument("--output", type=Path, help="write the report (Markdown) here")
    args = parser.parse_args()
    import json

    args.store_triples = json.loads((args.store / "zigraph-store.json").read_text())["triples"]
    queries = lookups(subjects_of(args.store))
    layers = in_process(args.store, queries, args.requests)
    for layer, ms in layers.items():
        print(f"  {layer}: {ms} ms", flush=True)
    text = report(args, layers, servers(args.store, queries, args.requests, args.granian))
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
