"""``zigraph serve``: checks before starting, and real clients against the running server."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from SPARQLWrapper import CSV, JSON, JSONLD, POST, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

from service import dataset
from service.cli import cli
from service.security import SECURITY_HEADERS
from service.serve import report_validation, serve
from service.store import building
from tests.processes import children_of, descendants_of, is_running, wait_for
from tests.stores import free_port, stop

TEST_DATA = Path(__file__).resolve().parent / "data"
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
TIMEOUT = 3


def zigraph_command() -> list[str]:
    """Return the command that runs the zigraph console script of this environment."""
    script = shutil.which("zigraph") or str(Path(sys.executable).with_name("zigraph"))
    return [script] if Path(script).exists() else [sys.executable, "-m", "service.cli"]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                health = json.loads(response.read())
            if not health.get("making"):  # every page can be shown
                return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Run ``zigraph serve`` on a free local port; yield its base URL; always stop it."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "ZIGRAPH_QUERY_TIMEOUT": "60"}  # the flag below wins
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                *zigraph_command(),
                "serve",
                "--port",
                str(port),
                "--workers",
                "1",
                "--threads",
                "4",
                "--query-timeout",
                str(TIMEOUT),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base + "/healthz", process)
            yield base
        finally:
            stop(process)


def wrapper(base: str, query: str, return_format: str) -> SPARQLWrapper:
    client = SPARQLWrapper(base + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(return_format)
    return client


def answer(client: SPARQLWrapper):
    """Run the query and convert the answer, closing the connection."""
    result = client.query()
    try:
        return result.convert()
    finally:
        result.response.close()


def fetch_error(request: urllib.request.Request | str) -> tuple[int, bytes]:
    """Send a request expected to fail; return its status and body, closing the connection."""
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(request, timeout=120)
    with failed.value as error:
        return error.code, error.read()


def stored_triple_count(base: str) -> int:
    client = wrapper(base, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", JSON)
    return int(answer(client)["results"]["bindings"][0]["n"]["value"])


def test_health_of_the_running_server(server):
    with urllib.request.urlopen(server + "/healthz") as response:
        health = json.load(response)
    assert health["status"] == "ok"
    assert health["triples"] == stored_triple_count(server)


@pytest.mark.parametrize("method", ["GET", POST])
def test_select_in_every_format_with_sparqlwrapper(server, method):
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(isIRI(?s)) } ORDER BY ?s ?p ?o LIMIT 50"
    answers = {}
    for fmt in (JSON, XML, CSV, TSV):
        client = wrapper(server, query, fmt)
        if method == POST:
            client.setMethod(POST)
        answers[fmt] = answer(client)
    rows = answers[JSON]["results"]["bindings"]
    assert len(rows) == 50
    assert len(answers[XML].getElementsByTagName("result")) == 50
    table = list(csv.reader(io.StringIO(answers[CSV].decode(), newline="")))
    assert table[0] == ["s", "p", "o"] and len(table) == 51
    tsv = ox.parse_query_results(answers[TSV], format=ox.QueryResultsFormat.TSV)
    assert [str(r["s"]) for r in tsv] == [f"<{r['s']['value']}>" for r in rows]


def test_ask_with_sparqlwrapper(server):
    assert answer(wrapper(server, "ASK { ?s ?p ?o }", JSON))["boolean"] is True
    document = answer(wrapper(server, "ASK { ?s ?p <urn:nothing> }", XML))
    assert document.getElementsByTagName("boolean")[0].firstChild.data == "false"


RDF_FORMATS = {
    TURTLE: ox.RdfFormat.TURTLE,
    RDFXML: ox.RdfFormat.RDF_XML,
    JSONLD: ox.RdfFormat.JSON_LD,
    XML: ox.RdfFormat.RDF_XML,
}


def graph_answer(base: str, query: str, fmt: str) -> set[ox.Triple]:
    """Run a CONSTRUCT or DESCRIBE through SPARQLWrapper and parse the raw answer."""
    # SPARQLWrapper's own conversion builds a deprecated rdflib ConjunctiveGraph.
    result = wrapper(base, query, fmt).query()
    with result.response as response:
        data = response.read()
    return {q.triple for q in ox.parse(data, format=RDF_FORMATS[fmt])}


@pytest.mark.parametrize("fmt", list(RDF_FORMATS))
def test_construct_and_describe_with_sparqlwrapper(server, fmt):
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(isIRI(?s)) } LIMIT 40"
    expected = graph_answer(server, construct, TURTLE)
    assert len(expected) == 40
    assert graph_answer(server, construct, fmt) == expected
    subject = min(t.subject.value for t in expected)
    described = graph_answer(server, f"DESCRIBE <{subject}>", fmt)
    assert subject in {t.subject.value for t in described}


def test_service_is_refused_by_the_running_server(server):
    query = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"
    request = urllib.request.Request(
        server + "/sparql",
        data=query.encode(),
        headers={"Content-Type": "application/sparql-query"},
    )
    status, body = fetch_error(request)
    assert status == 400
    assert json.loads(body)["reason"] == "service"
    assert answer(wrapper(server, "ASK {}", JSON))["boolean"] is True


def test_slow_query_times_out_while_others_are_answered(server):
    outcome = {}

    def slow():
        request = urllib.request.Request(
            server + "/sparql",
            data=SLOW_QUERY.encode(),
            headers={"Content-Type": "application/sparql-query"},
        )
        started = time.monotonic()
        outcome["status"], body = fetch_error(request)
        outcome["body"] = json.loads(body)
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.5)
    assert answer(wrapper(server, "ASK { ?s ?p ?o }", JSON))["boolean"] is True
    thread.join(120)
    assert outcome["status"] == 503
    assert outcome["body"]["error"] == "query-timeout"
    assert outcome["seconds"] < TIMEOUT + 30  # stopped, not run to its end
    assert answer(wrapper(server, "ASK { ?s ?p ?o }", JSON))["boolean"] is True


def test_huge_get_is_refused_by_the_application(server):
    status, _ = fetch_error(server + "/sparql?query=" + "A" * 20000)
    assert status == 414


@pytest.fixture
def shipped_plus(monkeypatch):
    """Make the 'shipped' data the real ontology and shapes plus the given data file."""

    def use(path: Path) -> None:
        real = dataset.shipped_files()
        files = [f for f in real if f.role != "graph_data"]
        files.append(dataset.SourceFile(path, "graph_data", "https://w3id.org/zigraph/graph/test"))
        monkeypatch.setattr(dataset, "shipped_files", lambda: files)

    return use


def test_serve_refuses_data_that_breaks_the_shapes(shipped_plus):
    invalid = sorted((TEST_DATA / "shapes" / "invalid").glob("*.ttl"))[0]
    shipped_plus(invalid)
    result = CliRunner().invoke(cli, ["serve", "--port", str(free_port())])
    assert result.exit_code == 1
    assert "does not conform" in result.output
    assert "--no-validate" in result.output


def test_serve_names_the_file_and_line_that_cannot_be_read(shipped_plus, tmp_path):
    broken = tmp_path / "broken.ttl"
    broken.write_text("@prefix ex: <http://example.org/> .\n\nex:a ex:b ex:c ;\n  ex:d .\n")
    shipped_plus(broken)
    result = CliRunner().invoke(cli, ["serve", "--port", str(free_port())])
    assert result.exit_code == 2
    assert "broken.ttl" in result.output
    assert "line 4" in result.output


def test_store_dir_is_reused_while_the_data_is_unchanged(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(TEST_DATA / "sparql", data)
    files = dataset.selected_files([data])
    said: list[str] = []
    path, metadata, temporary = building.prepare_store(files, tmp_path / "store", say=said.append)
    assert not temporary
    built = metadata["built"]
    time.sleep(1.1)
    again, reused, _ = building.prepare_store(files, tmp_path / "store", say=said.append)
    assert reused["built"] == built
    assert "reusing" in said[-1]
    (data / "extra.ttl").write_text((data / "extra.ttl").read_text() + "\n# changed\n")
    rebuilt = building.prepare_store(files, tmp_path / "store", say=said.append)[1]
    assert rebuilt["built"] != built
    assert rebuilt["version"] != metadata["version"]
    assert "rebuilding" in said[-1]


def test_store_dir_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    files = dataset.selected_files([TEST_DATA / "sparql"])
    with pytest.raises(building.StoreFolderInUse):
        building.prepare_store(files, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    result = CliRunner().invoke(
        serve, ["--data", str(TEST_DATA / "sparql"), "--store-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "not empty" in result.output


def raw_request(base: str, request: bytes) -> tuple[int, dict[str, str]]:
    """Send raw bytes to the server; return the status and headers it answers with."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    return status, headers


def test_overlong_request_line_is_refused_by_the_server_with_security_headers(server):
    line = b"GET /sparql?query=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
    status, headers = raw_request(server, line)
    assert status in (400, 414)
    assert headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Type"].startswith("text/plain")


def test_oversized_header_gets_431_with_security_headers(server):
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n"
    status, headers = raw_request(server, request)
    assert status in (400, 431)
    assert headers["X-Frame-Options"] == "DENY"
    assert stored_triple_count(server) > 0  # and the server answers the next request


def test_host_header_does_not_change_descriptions(server):
    for path in ("/.well-known/void", "/catalog", "/sparql"):
        request = urllib.request.Request(
            server + path, headers={"Host": "attacker.example", "Accept": "text/turtle"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read().decode()
        assert "attacker.example" not in body
        assert server + "/sparql" in body


def test_data_in_any_format_keeps_file_graphs_and_the_graphs_a_quad_file_names(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    with gzip.open(folder / "cities.nt.gz", "wt", encoding="utf-8") as compressed:
        compressed.write('<https://example.org/a> <https://example.org/p> "a" .\n')
    (folder / "named.nq").write_text(
        '<https://example.org/b> <https://example.org/p> "b" <https://example.org/graph/b> .\n'
        '<https://example.org/c> <https://example.org/p> "c" .\n'
    )
    (folder / "more.jsonld").write_text(
        '{"@id": "https://example.org/d", "https://example.org/p": "d"}'
    )
    files = dataset.selected_files([folder])
    path, metadata, _ = building.prepare_store(files, tmp_path / "store", validate=False)
    data_graphs = {f.graph for f in files if f.role == "graph_data"}
    assert data_graphs == {
        dataset.GRAPH_BASE + f"graph_data/data/{name}" for name in ("cities", "named", "more")
    }
    assert data_graphs | {"https://example.org/graph/b"} <= set(metadata["graphs"])
    store = ox.Store.read_only(str(path))
    graph_of = {q.subject.value: q.graph_name.value for q in store.quads_for_pattern(
        None, ox.NamedNode("https://example.org/p"), None)}  # fmt: skip
    assert graph_of == {
        "https://example.org/a": dataset.GRAPH_BASE + "graph_data/data/cities",
        "https://example.org/b": "https://example.org/graph/b",
        "https://example.org/c": dataset.GRAPH_BASE + "graph_data/data/named",
        "https://example.org/d": dataset.GRAPH_BASE + "graph_data/data/more",
    }


def test_serve_data_from_zigraph_data_logs_what_it_serves_and_where(tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "ZIGRAPH_DATA": str(TEST_DATA / "sparql"), "ZIGRAPH_PORT": str(port)}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*zigraph_command(), "serve", "--workers", "1", "--no-validate"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as response:
                health = json.load(response)
        finally:
            stop(process)
    started = log.read_text()
    assert "not validated" in started
    assert f"serving {health['triples']:,} triples" in started
    assert f"open http://127.0.0.1:{port}/" in started


def test_serve_says_the_data_was_validated(tmp_path, capsys):
    files = dataset.selected_files()
    path, metadata, _ = building.prepare_store(files, tmp_path / "store")
    report_validation(metadata, path, enforce=True)
    assert "the data conforms to the shapes (validated in" in capsys.readouterr().err


def drawn_on_a_terminal(shown: bool) -> bytes:
    """Return what a bar of 200 bytes, read in two halves, draws on a terminal."""
    terminal, attached = os.openpty()
    with open(attached, "w") as screen:
        with dataset.progress_bar(200, "loading", shown, file=screen) as progress:
            progress.update(100)
            progress.update(100)
    drawn = b""
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        drawn += chunk
    os.close(terminal)
    return drawn


def test_the_progress_bar_counts_the_bytes_read(capsys):
    drawn = drawn_on_a_terminal(shown=True)
    assert b"loading [" in drawn and b" 50%" in drawn and b"100%" in drawn
    assert drawn.endswith(b"\n")
    assert drawn_on_a_terminal(shown=False) == b""
    with dataset.progress_bar(200, "loading") as quiet:  # standard error is no terminal here
        quiet.update(200)
    assert capsys.readouterr().err == ""


def test_clients_that_never_finish_their_headers_do_not_hold_the_threads(server):
    # gunicorn alone gives a thread to a request that trickles in and waits for it forever:
    # eight such sockets made /healthz time out. Here each gets a 408 once its head is late,
    # and the service answers meanwhile or, at worst, once that deadline has passed.
    from service.server import HEAD_SECONDS

    stalled = []
    for _ in range(6):  # more than the test server's 4 threads
        sock = socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1])))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        stalled.append(sock)
    try:
        started = time.monotonic()
        with urllib.request.urlopen(server + "/healthz", timeout=HEAD_SECONDS * 3) as response:
            assert response.status == 200
        assert time.monotonic() - started < HEAD_SECONDS + 5
        stalled[0].settimeout(HEAD_SECONDS * 2)
        answer = b""
        while chunk := stalled[0].recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout")
        assert b"X-Content-Type-Options: nosniff" in answer
    finally:
        for sock in stalled:
            sock.close()


def test_clients_that_never_close_do_not_hold_the_worker(server):
    # gunicorn closes an ending connection on its worker's main thread and waits there for
    # the client to close: four clients that asked for "Connection: close" and never read
    # held every other request for 30 s (503). Here another thread waits for them.
    from service.server import LINGER_SECONDS

    port = int(server.rsplit(":", 1)[1])
    held = []
    for _ in range(4):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        held.append(sock)
    try:
        time.sleep(0.5)  # their answers are sent, their connections closing
        for _ in range(3):
            started = time.monotonic()
            with urllib.request.urlopen(server + "/healthz", timeout=30) as response:
                assert response.status == 200
            assert time.monotonic() - started < LINGER_SECONDS / 2
        # Each answer is whole, and the connection ends once the linger is over.
        for sock in held:
            sock.settimeout(LINGER_SECONDS * 3)
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"}\n")
    finally:
        for sock in held:
            sock.close()


def test_a_web_worker_sets_what_it_loaded_aside_from_the_garbage_collector(server):
    # A full collection then walks only what requests made: 0.1 ms, not 20 ms, at 1M triples.
    with urllib.request.urlopen(server + "/metrics", timeout=10) as response:
        text = response.read().decode()
    frozen = re.search(r'^zigraph_gc_frozen_objects\{worker="\d+"\} (\S+)$', text, re.M)
    assert frozen is not None and float(frozen.group(1)) > 10_000


def test_a_web_worker_that_dies_is_replaced_by_one_that_answers(tmp_path):
    # The application is made once in gunicorn's master, before the workers fork
    # (service.server): a worker forked later, to replace a dead one, opens the store and
    # starts its evaluators itself, and the dead one's evaluators die with it.
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*zigraph_command(), "serve", "--port", str(port), "--workers", "2"]
    with (tmp_path / "serve.log").open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until_up(base + "/healthz", process)
            workers = {
                pid
                for pid in children_of(process.pid)
                if b"serve" in Path(f"/proc/{pid}/cmdline").read_bytes()
            }
            assert len(workers) == 2
            dead = min(workers)
            its_processes = descendants_of(dead)
            assert its_processes  # its fork server and evaluators
            os.kill(dead, signal.SIGKILL)
            answered: set[int] = set()  # the workers /metrics names

            def a_new_worker_answers() -> bool:
                with urllib.request.urlopen(base + "/sparql?query=ASK%7B%7D", timeout=10) as r:
                    assert r.status == 200
                with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
                    text = response.read().decode()
                answered.update(int(pid) for pid in re.findall(r'worker="(\d+)"', text))
                return bool(answered & (children_of(process.pid) - workers))

            assert wait_for(a_new_worker_answers, 60), "no new worker answered"
            assert wait_for(lambda: not any(map(is_running, its_processes)), 10), (
                f"the dead worker's processes live on: {sorted(filter(is_running, its_processes))}"
            )
        finally:
            stop(process)


class _Request:
    headers = [("HOST", "127.0.0.1:5000"), ("ACCEPT", "text/html"), ("USER-AGENT", 'say "hi"')]


class _Response:
    status = "404 NOT FOUND"
    sent = 1234
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Vary", "Accept")]


@pytest.mark.parametrize(
    "log_format",
    [
        None,  # gunicorn's default, as zigraph serve runs it
        '%(h)s %(t)s "%(r)s" %(s)s %(b)s',
        '%(h)s "%(r)s" %(s)s %(B)s %(M)s %({user-agent}i)s %({vary}o)s %({remote_addr}e)s',
    ],
)
def test_the_access_log_line_is_gunicorns(log_format):
    """zigraph's access logger writes the line gunicorn's own writes, for any format."""
    import datetime

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    from service.server import AccessLogger, gunicorn_options

    config = Config()
    config.set("logger_class", gunicorn_options("127.0.0.1", 5000, 1, 1, 1)["logger_class"])
    assert config.logger_class is AccessLogger
    if log_format is not None:
        config.set("access_log_format", log_format)
    environ = {
        "REMOTE_ADDR": "192.0.2.7",
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/doc/x?lang=en",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_USER_AGENT": 'say "hi"',
        "HTTP_AUTHORIZATION": "Basic dXNlcjpwdw==",  # the user atom: "user"
    }
    took = datetime.timedelta(milliseconds=3, microseconds=250)
    lines = []
    for logger_class in (Logger, AccessLogger):
        logger = logger_class(config)
        logger.now = lambda: "[04/Dec/2026:21:00:00 +0000]"  # one second for both lines
        atoms = logger.atoms_wrapper_class(logger.atoms(_Response, _Request, environ, took))
        lines.append(config.access_log_format % atoms)
    theirs, ours = lines
    assert ours == theirs
    assert '"GET /doc/x?lang=en HTTP/1.1" 404' in ours
    if log_format is None:
        assert ours.startswith("192.0.2.7 - user [") and ours.endswith(' "say \\"hi\\""')
