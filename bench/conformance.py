"""Measure zigraph against the W3C SPARQL query test suites, beside pyoxigraph.

Every query that the manifests of ``sparql/sparql10``, ``sparql11`` and ``sparql12`` of a local
copy of w3c/rdf-tests list as an evaluation, positive syntax or negative syntax test is:

1. given to pyoxigraph on an empty store: does the engine zigraph embeds read it?
2. POSTed to ``zigraph serve`` of this checkout (the shipped data, a free loopback port):
   answered, refused by design (``SERVICE``, ``FROM`` a graph the store does not hold),
   refused although pyoxigraph reads it (a false refusal), a 5xx, a timeout;
3. for an evaluation test, evaluated by pyoxigraph over the test's data as written and as the
   canonical text that zigraph's check writes (``check_query(text).text``), and the two answers
   compared (the round trip; "unavailable" while the check writes no text).

Each query is read with ``BASE <file URL of its .rq>`` written before it, by pyoxigraph and by
zigraph alike: that is the base the W3C harness gives a query, and a query sent over the
protocol has no other (pyoxigraph refuses a relative IRI without a base). The report counts the
queries for which this matters. Update tests are counted and skipped: the endpoint is read-only
by design. Each pyoxigraph step runs in a forked process with a time limit, since an engine
fault (a panic in its sort) can abort the process that holds it.

    python bench/conformance.py --suites /path/to/rdf-tests [--output bench/results/conformance]

The suite stays out of this repository: extract it with
``git -C <mirror of w3c/rdf-tests> archive HEAD sparql | tar -x -C /path/to/rdf-tests``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlparse

import click
import pyoxigraph as ox
from rdflib import RDF, Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from run import free_port, stop_process  # noqa: E402  (bench/run.py, beside this file)

from service.errors import ZigraphError  # noqa: E402
from service.querysafety import check_query  # noqa: E402

RESULTS = BENCH / "results"
ZIGRAPH = [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
SUITES = {"sparql10": "manifest.ttl", "sparql11": "manifest-all.ttl", "sparql12": "manifest.ttl"}
KINDS = {  # local name of a test type -> what this script does with it
    "QueryEvaluationTest": "evaluation",
    "CSVResultFormatTest": "evaluation",
    "PositiveSyntaxTest": "positive-syntax",
    "PositiveSyntaxTest11": "positive-syntax",
    "NegativeSyntaxTest": "negative-syntax",
    "NegativeSyntaxTest11": "negative-syntax",
    "UpdateEvaluationTest": "update",
    "PositiveUpdateSyntaxTest": "update",
    "PositiveUpdateSyntaxTest11": "update",
    "NegativeUpdateSyntaxTest": "update",
    "NegativeUpdateSyntaxTest11": "update",
}
BY_DESIGN = frozenset({"service", "unknown-graph"})  # the ``reason`` of refusals zigraph means
XSD = "http://www.w3.org/2001/XMLSchema#"
DESIGN_REASONS = {
    "service": "SERVICE",
    "unknown-graph": "a graph the store does not hold",
    "function": "an extension function",
}
ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9, */*;q=0.1"
ENGINE_SECONDS = 60  # for one test's pyoxigraph steps, in the forked process
CLIENT_SECONDS = 60  # for one answer of zigraph
SHOWN = 300  # characters of a message kept in the report
FROM_CLAUSE = re.compile(r"\bFROM\s+(?:NAMED\s+)?<([^>]*)>", re.IGNORECASE)


# --- the manifests ------------------------------------------------------------------------


@dataclass(frozen=True)
class SuiteTest:
    """One test of a manifest: what it runs and on which data."""

    suite: str  # sparql10, sparql11, sparql12
    name: str  # the manifest's folder in the suite and the test's local name
    title: str  # mf:name
    kind: str  # evaluation, positive-syntax, negative-syntax, update or other
    query: Path | None = None
    data: tuple[Path, ...] = ()
    graph_data: tuple[Path, ...] = ()


def file_path(node: object) -> Path | None:
    """Return the local file a manifest's IRI names, None when it names none."""
    parsed = urlparse(str(node))
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def read_suite(suites: Path, suite: str) -> list[SuiteTest]:
    """Return every test the suite's root manifest lists, following mf:include."""
    root = suites / "sparql" / suite
    tests: dict[str, SuiteTest] = {}
    todo, seen = [root / SUITES[suite]], set()
    while todo:
        manifest = todo.pop(0).resolve()
        if manifest in seen or not manifest.exists():
            continue
        seen.add(manifest)
        graph = Graph().parse(manifest, format="turtle", publicID=manifest.as_uri())
        for node in graph.subjects(RDF.type, MF.Manifest):
            for included in graph.objects(node, MF.include):
                todo.extend(p for i in Collection(graph, included) if (p := file_path(i)))
            for entries in graph.objects(node, MF.entries):
                for entry in Collection(graph, entries):
                    test = read_test(graph, entry, suite, manifest.parent.relative_to(root))
                    tests.setdefault(test.name, test)
    return list(tests.values())


def read_test(graph: Graph, entry: Any, suite: str, folder: Path) -> SuiteTest:
    """Return a manifest entry as a test."""
    local = re.split(r"[#/]", str(entry))[-1]
    name = f"{folder.as_posix()}/{local}" if str(folder) != "." else local
    title = str(graph.value(entry, MF.name) or local)
    types = [re.split(r"[#/]", str(t))[-1] for t in graph.objects(entry, RDF.type)]
    kind = next((KINDS[t] for t in types if t in KINDS), "other")
    if kind in ("update", "other"):
        return SuiteTest(suite, name, title, kind)
    action = graph.value(entry, MF.action)
    if isinstance(action, URIRef):  # a syntax test names its query file directly
        return SuiteTest(suite, name, title, kind, file_path(action))
    query = graph.value(action, QT.query)

    def files(predicate: URIRef) -> tuple[Path, ...]:
        return tuple(sorted(p for o in graph.objects(action, predicate) if (p := file_path(o))))

    path = file_path(query) if query is not None else None
    return SuiteTest(suite, name, title, kind, path, files(QT.data), files(QT.graphData))


def extension_functions(text: str) -> list[str] | None:
    """Return the IRIs of the functions a query calls that are neither SPARQL's nor XSD casts.

    rdflib reads the query, independently of zigraph; None when it cannot (SPARQL 1.2 forms).
    """
    try:
        algebra = translateQuery(parseQuery(text)).algebra
    except Exception:  # rdflib's parser raises many kinds; any means "cannot tell"
        return None
    found: set[str] = set()
    todo: list[object] = [algebra]
    while todo:
        node = todo.pop()
        if isinstance(node, CompValue):
            if node.name == "Function" and not str(node.iri).startswith(XSD):
                found.add(str(node.iri))
            todo.extend(node.values())
        elif isinstance(node, list | tuple):
            todo.extend(node)
        elif isinstance(node, dict):
            todo.extend(node.values())
    return sorted(found)


def with_base(test: SuiteTest) -> bytes:
    """Return the test's query with a BASE line naming its own file, as both readers get it."""
    assert test.query is not None
    return f"BASE <{test.query.as_uri()}>\n".encode() + test.query.read_bytes()


# --- pyoxigraph: reading and the round trip, in a forked process ---------------------------


def engine_refusal(text: str, base_iri: str | None = None) -> str | None:
    """Return pyoxigraph's syntax error for a query on an empty store, None when it reads it."""
    try:
        ox.Store().query(text, base_iri=base_iri)
    except SyntaxError as error:
        return str(error)
    except Exception:  # an evaluation error: the query was read
        return None
    return None


def term_text(term: object, labels: dict[str, str] | None) -> str:
    """Return a term as text; blank nodes renamed in order of ``labels``, or masked without."""
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        if labels is None:
            return "_:"
        return labels.setdefault(term.value, f"_:b{len(labels)}")
    if isinstance(term, ox.Triple):
        parts = (term.subject, term.predicate, term.object)
        return "<<( " + " ".join(term_text(t, labels) for t in parts) + " )>>"
    return str(term)


def answer(store: ox.Store, text: str) -> tuple:
    """Return a query's answer in a form that compares equal across blank node names.

    Solutions are a multiset: sorted rows of sorted variables, the blank nodes relabelled in
    the order they first appear in the rows sorted with blank nodes masked (a simple canonical
    relabelling; the masked rows are kept to tell a relabelling artefact from a difference).
    Graphs are canonicalized with RDFC-1.0.
    """
    try:
        result = store.query(text)
        if isinstance(result, ox.QueryBoolean):
            return ("boolean", bool(result))
        if isinstance(result, ox.QuerySolutions):
            variables = sorted(v.value for v in result.variables)
            rows = [tuple(solution[v] for v in variables) for solution in result]
            masked = sorted(tuple(term_text(t, None) for t in row) for row in rows)
            rows.sort(key=lambda row: tuple(term_text(t, None) for t in row))
            labels: dict[str, str] = {}
            renamed = sorted(tuple(term_text(t, labels) for t in row) for row in rows)
            return ("solutions", tuple(variables), tuple(renamed), tuple(masked))
        dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in result)
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        return ("graph", tuple(sorted(str(quad) for quad in dataset)))
    except SyntaxError:
        raise
    except Exception as error:  # an evaluation error is an answer too
        return ("error", type(error).__name__)


def size(form: tuple) -> str:
    """Return what an answer holds, in words."""
    if form[0] == "boolean":
        return f"boolean {form[1]}"
    if form[0] == "solutions":
        return f"{len(form[2])} solutions of {', '.join(form[1]) or 'no variable'}"
    if form[0] == "graph":
        return f"{len(form[1])} triples"
    return f"error {form[1]}"


def load_data(store: ox.Store, test: SuiteTest, text: str) -> None:
    """Load a test's data as the W3C harness does: qt:data into the default graph,
    qt:graphData and the files the query's FROM clauses name into graphs named by their IRIs."""
    assert test.query is not None
    named = list(test.graph_data)
    for iri in FROM_CLAUSE.findall(text):
        path = file_path(urljoin(test.query.as_uri(), iri))
        if path is not None and path.is_file() and path not in named:
            named.append(path)
    for path, graph in [(p, None) for p in test.data] + [(p, p) for p in named]:
        fmt = ox.RdfFormat.from_extension(path.suffix.lstrip("."))
        if fmt is None:
            raise ValueError(f"no RDF format for {path.name}")
        target = None
        if not fmt.supports_datasets:
            target = ox.DefaultGraph() if graph is None else ox.NamedNode(graph.as_uri())
        store.load(path=str(path), format=fmt, base_iri=path.as_uri(), to_graph=target)


def round_trip(test: SuiteTest, text: str) -> dict[str, str]:
    """Compare, on pyoxigraph over the test's data, the query's answer and its canonical text's."""
    try:
        checked = check_query(text)
    except ZigraphError as refusal:
        return {
            "verdict": "not-compared",
            "reason": "the check refuses it",
            "detail": refusal.message,
        }
    except Exception as error:  # a fault of the check is a finding, not a stop
        return {"verdict": "not-compared", "reason": "the check failed", "detail": repr(error)}
    canonical = getattr(checked, "text", None)
    if not isinstance(canonical, str):
        return {"verdict": "unavailable", "reason": "the check writes no canonical text"}
    store = ox.Store()
    try:
        load_data(store, test, text)
    except (OSError, SyntaxError, ValueError) as error:
        return {
            "verdict": "not-compared",
            "reason": "the data cannot be loaded",
            "detail": str(error),
        }
    first, again = answer(store, text), answer(store, text)
    try:
        rewritten = answer(store, canonical)
    except SyntaxError as error:
        return {
            "verdict": "different",
            "detail": f"pyoxigraph cannot read the canonical text: {error}",
            "canonical": canonical,
        }
    if first != again:  # RAND(), NOW(), UUID(), BNODE(): only the shape can be compared
        same = rewritten[0] == first[0] and size(rewritten) == size(first)
        verdict = {"verdict": "same" if same else "different", "note": "nondeterministic"}
    elif rewritten == first:
        verdict = {"verdict": "same"}
    elif first[0] == "solutions" and rewritten[:2] == first[:2] and rewritten[3] == first[3]:
        verdict = {"verdict": "same", "note": "blank nodes matched by their masked rows only"}
    else:
        verdict = {"verdict": "different"}
    if verdict["verdict"] == "different":
        verdict["detail"] = f"original: {size(first)}; canonical: {size(rewritten)}"
        verdict["canonical"] = canonical
    return verdict


def examine(test: SuiteTest) -> dict[str, Any]:
    """Return what pyoxigraph makes of a test's query, and the round trip of an evaluation."""
    assert test.query is not None
    try:
        raw = test.query.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        return {"engine_reads": False, "engine_error": f"not UTF-8: {error}"}
    text = with_base(test).decode("utf-8")
    refusal = engine_refusal(text)
    found: dict[str, Any] = {
        "engine_reads": refusal is None,
        "engine_error": refusal,
        "engine_reads_with_base_iri": engine_refusal(raw, test.query.as_uri()) is None,
        "engine_reads_without_base": engine_refusal(raw) is None,
    }
    if test.kind == "evaluation" and refusal is None:
        found["round_trip"] = round_trip(test, text)
    return found


def _child(work: Callable[[SuiteTest], dict], test: SuiteTest, pipe: Any) -> None:
    try:
        pipe.send(work(test))
    except Exception as error:  # reported as the test's fault, not a dead child
        pipe.send({"engine_fault": repr(error)})
    pipe.close()


def isolated(work: Callable[[SuiteTest], dict], test: SuiteTest, seconds: float) -> dict:
    """Run ``work(test)`` in a forked process; report a crash or a timeout instead of dying."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(work, test, sender), daemon=True)
    process.start()
    sender.close()
    try:
        if receiver.poll(seconds):
            return receiver.recv()
        return {"engine_fault": f"no answer within {seconds:.0f} s"}
    except EOFError:
        process.join(5)
        return {"engine_fault": f"the process died (exit status {process.exitcode})"}
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()


# --- zigraph ------------------------------------------------------------------------------


class ZigraphServer:
    """``zigraph serve`` of this checkout on a free loopback port, stopped however a run ends."""

    def __init__(self, options: list[str], query_timeout: float) -> None:
        self.port = free_port()
        self.options = [*options, "--query-timeout", str(query_timeout)]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> ZigraphServer:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for name in ("ZIGRAPH_STORE_DIR", "ZIGRAPH_DATA", "ZIGRAPH_ENDPOINT"):
            env.pop(name, None)
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  closed in __exit__
        self.process = subprocess.Popen(
            [*ZIGRAPH, "serve", "--port", str(self.port), *self.options],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self.request("GET", "/healthz", timeout=5)[0] == 200:
                return self
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"zigraph serve did not start:\n{self.log_tail}")

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.log.seek(0)
        self.log_tail = self.log.read()[-3000:].decode(errors="replace")
        self.log.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = CLIENT_SECONDS,
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request; return the status (0: no answer), the headers and the body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        except (OSError, http.client.HTTPException) as error:
            return 0, {}, repr(error).encode()
        finally:
            connection.close()

    def ask(self, query: bytes) -> dict[str, Any]:
        """POST a query (application/sparql-query); return zigraph's verdict on it.

        A refusal of a query that calls an extension function (by rdflib's reading) is by
        design: the endpoint evaluates SPARQL's functions and XSD casts only.
        """
        headers = {"Content-Type": "application/sparql-query", "Accept": ACCEPT}
        status, _, body = self.request("POST", "/sparql", query, headers)
        found = {"status": status, **verdict(status, body)}
        if found["outcome"] == "refused":
            called = extension_functions(query.decode("utf-8", errors="replace"))
            if called:
                found.update(outcome="refused-by-design", reason="function", functions=called)
        return found


def verdict(status: int, body: bytes) -> dict[str, str]:
    """Return what an answer of zigraph's endpoint means: its outcome and its error message."""
    if status == 200:
        return {"outcome": "answered"}
    try:
        error = json.loads(body)
    except ValueError:
        error = {"message": body.decode(errors="replace")}
    message = str(error.get("message", ""))[:SHOWN]
    reason = str(error.get("reason", ""))
    if status == 0:
        outcome = "no-answer"
    elif 400 <= status < 500:
        outcome = "refused-by-design" if reason in BY_DESIGN else "refused"
    elif status == 503 and error.get("error") == "query-timeout":
        outcome = "timeout"
    elif status >= 500:
        outcome = "server-error"
        message = body.decode(errors="replace")[:SHOWN]
    else:
        outcome = "other"
    return {"outcome": outcome, "reason": reason, "message": message}


# --- the run and its report ---------------------------------------------------------------


@dataclass
class Outcome:
    """What happened to one test."""

    test: SuiteTest
    engine: dict[str, Any] = field(default_factory=dict)
    zigraph: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        record = asdict(self.test)
        for key in ("query", "data", "graph_data"):
            record.pop(key)
        return {**record, **self.engine, "zigraph": self.zigraph}


def progress(items: list[SuiteTest], label: str) -> Iterator[SuiteTest]:
    """Yield the items under a progress bar on a terminal (click hides it elsewhere)."""
    with click.progressbar(items, label=label, file=sys.stderr, show_pos=True) as bar:
        yield from bar


def run(suites: Path, names: list[str], query_timeout: float) -> dict[str, Any]:
    """Run the suites and return the report's data."""
    started = time.time()
    outcomes: list[Outcome] = []
    tests = [t for suite in names for t in read_suite(suites, suite)]
    with ZigraphServer([], query_timeout) as server:
        for test in progress(tests, "W3C SPARQL tests"):
            outcome = Outcome(test)
            outcomes.append(outcome)
            if test.query is None:
                continue
            outcome.engine = isolated(examine, test, ENGINE_SECONDS)
            outcome.zigraph = server.ask(with_base(test))
    return {
        "suites": str(suites),
        "revision": revision(),
        "pyoxigraph": ox.__version__,
        "query_timeout": query_timeout,
        "seconds": round(time.time() - started),
        "date": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
        "server_log_tail": server.log_tail,
        "tests": [o.to_json() for o in outcomes],
    }


def revision() -> str:
    """Return the checkout's commit, with a mark when it has uncommitted changes."""

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + (
        " (modified)" if git("status", "--short", "--untracked-files=no") else ""
    )


def summarize(tests: list[dict[str, Any]]) -> dict[str, int]:
    """Return the counts of one suite's row."""
    counts: Counter[str] = Counter()
    for t in tests:
        kind, zigraph = t["kind"], t.get("zigraph", {})
        outcome = zigraph.get("outcome")
        if kind in ("update", "other"):
            counts[kind] += 1
            continue
        if "engine_fault" in t:
            counts["engine faults"] += 1
        if kind == "negative-syntax":
            counts["negative"] += 1
            counts["negative refused"] += outcome in ("refused", "refused-by-design")
            counts["negative answered"] += outcome == "answered"
            counts["negative 5xx"] += outcome == "server-error"
            counts["negative pyoxigraph refuses"] += t.get("engine_reads") is False
            continue
        reads = t.get("engine_reads") is True
        counts["queries"] += 1
        counts["pyoxigraph reads"] += reads
        counts["with base iri"] += t.get("engine_reads_with_base_iri") is True
        counts["without base"] += t.get("engine_reads_without_base") is True
        counts["answered"] += outcome == "answered"
        counts["false refusals"] += reads and outcome == "refused"
        counts["both refuse"] += not reads and outcome in ("refused", "refused-by-design")
        counts["only zigraph reads"] += not reads and outcome == "answered"
        counts["refused by design"] += outcome == "refused-by-design"
        counts["5xx"] += outcome == "server-error"
        counts["timeouts"] += outcome == "timeout"
        counts["no answer"] += outcome == "no-answer"
        if kind == "evaluation":
            counts["evaluation"] += 1
            trip = t.get("round_trip", {}).get("verdict", "not-compared")
            counts[f"round trip {trip}"] += 1
    return counts


def markdown(report: dict[str, Any]) -> str:
    """Return the report as Markdown: the tables per suite, then every finding by name."""
    tests = report["tests"]
    suites = sorted({t["suite"] for t in tests})
    rows = {s: summarize([t for t in tests if t["suite"] == s]) for s in suites}
    rows["all"] = summarize(tests)

    def table(title: str, columns: list[tuple[str, str]]) -> list[str]:
        lines = [title, "", "| suite | " + " | ".join(h for h, _ in columns) + " |"]
        lines.append("| --- |" + " ---: |" * len(columns))
        for suite, counts in rows.items():
            cells = " | ".join(str(counts[key]) for _, key in columns)
            lines.append(f"| {'**all**' if suite == 'all' else suite} | {cells} |")
        return [*lines, ""]

    out = [
        "# zigraph and the W3C SPARQL test suites",
        "",
        f"zigraph {report['revision']}, pyoxigraph {report['pyoxigraph']}, "
        f"query time limit {report['query_timeout']} s, {report['date']}, "
        f"{report['seconds']} s. Made by `python bench/conformance.py --suites <rdf-tests>`.",
        "",
        "Each query is read with `BASE <file URL of its .rq>` written before it, by pyoxigraph "
        "(an empty in-memory store) and by zigraph (`zigraph serve`, the shipped data) alike.",
        "",
    ]
    out += table(
        "## Queries a test expects to be read (evaluation and positive syntax tests)",
        [
            ("queries", "queries"),
            ("pyoxigraph reads", "pyoxigraph reads"),
            ("zigraph answers", "answered"),
            ("false refusals", "false refusals"),
            ("refused by design", "refused by design"),
            ("both refuse", "both refuse"),
            ("only zigraph answers", "only zigraph reads"),
            ("5xx", "5xx"),
            ("timeouts", "timeouts"),
            ("no answer", "no answer"),
        ],
    )
    out += [
        "A false refusal: pyoxigraph reads the query, zigraph answers 4xx. Refused by design: "
        "`SERVICE`, or `FROM`/`FROM NAMED` of a graph the store does not hold (zigraph's "
        "error names the reason `service` or `unknown-graph`), or a call of a function that is "
        "neither SPARQL's nor an XSD cast (as rdflib reads the query, whatever zigraph says). "
        "Both refuse: pyoxigraph does not read it either. Only zigraph answers: pyoxigraph does "
        "not read the query as written, but reads zigraph's canonical text of it.",
        "",
    ]
    out += table(
        "## Negative syntax tests (each must be refused)",
        [
            ("tests", "negative"),
            ("zigraph refuses", "negative refused"),
            ("zigraph answers", "negative answered"),
            ("5xx", "negative 5xx"),
            ("pyoxigraph refuses", "negative pyoxigraph refuses"),
        ],
    )
    out += table(
        "## Round trip (evaluation tests: the query and its canonical text on pyoxigraph)",
        [
            ("evaluation tests", "evaluation"),
            ("same", "round trip same"),
            ("different", "round trip different"),
            ("unavailable", "round trip unavailable"),
            ("not compared", "round trip not-compared"),
        ],
    )
    out += [
        "Over each test's data in a fresh in-memory store (qt:data in the default graph, "
        "qt:graphData and the files `FROM` names in graphs named by their file IRIs): SELECT "
        "answers as multisets with blank nodes relabelled, ASK booleans, CONSTRUCT and DESCRIBE "
        "graphs canonicalized (RDFC-1.0). A query whose answer differs between two runs of its "
        "own text (RAND, NOW, UUID, BNODE) is compared by the size of its answer. "
        "Unavailable: the check writes no canonical text. Not compared: pyoxigraph does not "
        "read the query, the check refuses it, or the data cannot be loaded.",
        "",
    ]
    out += table(
        "## The base, skipped tests and engine faults",
        [
            ("read with a BASE line", "pyoxigraph reads"),
            ("with base_iri=", "with base iri"),
            ("without a base", "without base"),
            ("update tests skipped", "update"),
            ("other tests (protocol, service description)", "other"),
            ("pyoxigraph faults", "engine faults"),
        ],
    )
    out += findings(tests)
    return "\n".join(out) + "\n"


def findings(tests: list[dict[str, Any]]) -> list[str]:
    """Return the lists of tests behind each count that asks for action."""

    def listing(title: str, chosen: list[dict[str, Any]], what: Callable[[dict], str]) -> list:
        if not chosen:
            return [f"## {title}: none", ""]
        lines = [f"## {title} ({len(chosen)})", ""]
        lines += [f"- `{t['suite']}/{t['name']}` ({t['title']}): {what(t)}" for t in chosen]
        return [*lines, ""]

    def message(t: dict[str, Any]) -> str:
        z = t["zigraph"]
        text = " ".join(z.get("message", "").split())
        return f"{z.get('status')} {text}".replace("|", "\\|")

    positive = [t for t in tests if t["kind"] in ("evaluation", "positive-syntax")]
    negative = [t for t in tests if t["kind"] == "negative-syntax"]

    def outcome(t: dict[str, Any]) -> str | None:
        return t.get("zigraph", {}).get("outcome")

    def trip(t: dict[str, Any]) -> dict[str, str]:
        return t.get("round_trip", {})

    out = listing(
        "False refusals",
        [t for t in positive if t.get("engine_reads") and outcome(t) == "refused"],
        message,
    )
    out += listing(
        "Refused by design",
        [t for t in positive if outcome(t) == "refused-by-design"],
        lambda t: f"{DESIGN_REASONS.get(t['zigraph']['reason'], '?')}: {message(t)}",
    )
    out += listing(
        "Answered by zigraph, not read by pyoxigraph as written",
        [t for t in positive if t.get("engine_reads") is False and outcome(t) == "answered"],
        lambda t: " ".join(str(t.get("engine_error")).split()),
    )
    out += listing("5xx", [t for t in tests if outcome(t) == "server-error"], message)
    out += listing("Timeouts", [t for t in positive if outcome(t) == "timeout"], message)
    out += listing(
        "Negative syntax tests answered",
        [t for t in negative if outcome(t) == "answered"],
        lambda t: message(t) + (" (pyoxigraph reads it too)" if t.get("engine_reads") else ""),
    )
    out += listing(
        "Round trip: different answers",
        [t for t in positive if trip(t).get("verdict") == "different"],
        lambda t: trip(t).get("detail", ""),
    )
    out += listing(
        "Round trip: compared by shape only",
        [t for t in positive if trip(t).get("note")],
        lambda t: trip(t)["note"],
    )
    reasons = Counter(
        trip(t).get("reason", "pyoxigraph does not read the query")
        for t in positive
        if t["kind"] == "evaluation" and trip(t).get("verdict", "not-compared") == "not-compared"
    )
    if reasons:
        out += ["## Round trip: not compared, by reason", ""]
        out += [f"- {reason}: {count}" for reason, count in reasons.most_common()]
        out += [""]
    out += listing(
        "pyoxigraph faults (the forked reader crashed or ran out of time)",
        [t for t in tests if "engine_fault" in t],
        lambda t: t["engine_fault"],
    )
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the W3C SPARQL query suites through zigraph and pyoxigraph; write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--suites",
        type=Path,
        default=os.environ.get("ZIGRAPH_RDF_TESTS"),
        help="a local copy of w3c/rdf-tests (the folder holding sparql/); env ZIGRAPH_RDF_TESTS",
    )
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="repeatable")
    parser.add_argument("--query-timeout", type=float, default=5.0, help="zigraph's, seconds")
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "conformance", help="writes PATH.md and PATH.json"
    )
    args = parser.parse_args(argv)
    if args.suites is None or not (Path(args.suites) / "sparql").is_dir():
        parser.error("--suites (or ZIGRAPH_RDF_TESTS) must name a copy of w3c/rdf-tests")
    report = run(Path(args.suites).resolve(), args.suite or sorted(SUITES), args.query_timeout)
    text = markdown(report)
    sys.stdout.write(text)
    output = args.output.with_suffix("") if args.output.suffix == ".md" else args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".md").write_text(text)
    output.with_suffix(".json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
