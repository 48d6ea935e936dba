"""Replay the W3C SPARQL 1.1 Protocol tests against ``zigraph serve`` of the tests' graphs.

The manifest ``sparql/sparql11/protocol/manifest.ttl`` of a local copy of w3c/rdf-tests
describes each test as HTTP requests (method, path, headers, body) with the answer expected
(status class, format, ASK boolean). Every request is sent in order to zigraph on a free
loopback port, its path's ``/sparql/`` replaced by zigraph's ``/sparql``, and checked.

The tests name their graphs ``http://kasei.us/2009/09/sparql/data/dataN.rdf`` and give the
triples of data1–3 in ``dataN.nt``. zigraph names the graph of a file of triples after the file,
but keeps the graphs of a file of quads, so the runner writes the three files as one N-Quads
file, each in the graph the manifest's ``ut:graphData`` label names, and serves that
(``--no-validate``: the data is not zigraph's domain). Seven tests name ``data0.rdf`` as their
default graph, whose data the suite does not ship; zigraph answers only over graphs it holds
(it never fetches one), so the runner serves it too, holding the one triple that data1–3 state
of themselves (``<data0.rdf> a foaf:Document``); none of those seven tests reads it.

Updates are refused by design (the endpoint is read-only): a test that needs an update to
succeed is reported as refused by design when zigraph answers its update with a 4xx.

    python bench/protocol.py --suites /path/to/rdf-tests [--output bench/results/protocol]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from conformance import RESULTS, ZigraphServer, file_path, revision  # beside this file
from rdflib import RDF, Graph, Literal, Namespace
from rdflib.collection import Collection

HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
DATA0 = "http://kasei.us/2009/09/sparql/data/data0.rdf"
FOAF_DOCUMENT = "http://xmlns.com/foaf/0.1/Document"
RESULT_TYPES = {  # expectedFormat -> media types that hold it
    "boolean": {"application/sparql-results+json", "application/sparql-results+xml"},
    "tabular": {
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
    },
    "RDF": {"application/rdf+xml", "text/turtle", "application/n-triples"},
}


@dataclass(frozen=True)
class ProtocolRequest:
    """One HTTP request of a test and the answer it expects."""

    method: str
    path: str  # as the manifest writes it, starting with /sparql/
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    statuses: frozenset[str]  # status classes such as "2xx"
    boolean: bool | None
    format: str | None  # boolean, tabular or RDF

    @property
    def is_update(self) -> bool:
        """Return whether the request carries a SPARQL update."""
        types = " ".join(v for k, v in self.headers if k.lower() == "content-type")
        body = self.body or b""
        return "sparql-update" in types or body.startswith(b"update=") or "update=" in self.path


@dataclass(frozen=True)
class ProtocolTest:
    """A protocol test: its requests, in order."""

    name: str
    title: str
    requests: tuple[ProtocolRequest, ...]


def read_manifest(manifest: Path) -> tuple[list[ProtocolTest], dict[str, Path]]:
    """Return the tests and the graphs they load (graph IRI -> file of triples)."""
    graph = Graph().parse(manifest, format="turtle", publicID=manifest.as_uri())
    graphs: dict[str, Path] = {}
    for data in graph.objects(None, UT.graphData):
        path = file_path(graph.value(data, UT.graph))
        if path is not None:
            graphs[str(graph.value(data, RDFS.label))] = path
    tests = []
    for node in graph.subjects(RDF.type, MF.Manifest):
        for entries in graph.objects(node, MF.entries):
            for entry in Collection(graph, entries):
                action = graph.value(entry, MF.action)
                requests = Collection(graph, graph.value(action, HT.requests))
                tests.append(
                    ProtocolTest(
                        str(entry).rsplit("#", 1)[-1],
                        str(graph.value(entry, MF.name)),
                        tuple(read_request(graph, r) for r in requests),
                    )
                )
    return tests, graphs


def read_request(graph: Graph, node: Any) -> ProtocolRequest:
    """Return one ht:Request of the manifest."""
    headers: list[tuple[str, str]] = []
    for listed in graph.objects(node, HT.headers):
        for header in Collection(graph, listed):
            name, value = graph.value(header, HT.fieldName), graph.value(header, HT.fieldValue)
            headers.append((str(name), str(value)))
    body = None
    content = graph.value(node, HT.body)
    if content is not None:
        encoding = str(graph.value(content, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(content, CNT.chars)).encode(encoding)
    answer = graph.value(node, HT.resp)
    boolean = graph.value(answer, MF.expectedBoolean)
    expected_format = graph.value(answer, MF.expectedFormat)
    return ProtocolRequest(
        method=str(graph.value(node, HT.methodName)),
        path=str(graph.value(node, HT.absolutePath)),
        headers=tuple(headers),
        body=body,
        statuses=frozenset(
            str(s).rsplit("StatusCode", 1)[-1] for s in graph.objects(answer, MF.expectedStatus)
        ),
        boolean=boolean.toPython() if isinstance(boolean, Literal) else None,
        format=None if expected_format is None else str(expected_format),
    )


def write_dataset(graphs: dict[str, Path], folder: Path) -> Path:
    """Write the tests' graphs, and data0.rdf's one triple, as one N-Quads file."""
    quads = [
        ox.Quad(triple.subject, triple.predicate, triple.object, ox.NamedNode(iri))
        for iri, path in sorted(graphs.items())
        for triple in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES)
    ]
    data0 = ox.NamedNode(DATA0)
    quads.append(ox.Quad(data0, ox.NamedNode(str(RDF.type)), ox.NamedNode(FOAF_DOCUMENT), data0))
    target = folder / "protocol.nq"
    target.write_bytes(ox.serialize(quads, format=ox.RdfFormat.N_QUADS))
    return target


def boolean_of(media_type: str, body: bytes) -> bool | None:
    """Return the boolean of an ASK answer in SPARQL JSON or XML, None when there is none."""
    try:
        if media_type.endswith("json"):
            value = json.loads(body).get("boolean")
            return value if isinstance(value, bool) else None
        if media_type.endswith("xml"):
            for element in ElementTree.fromstring(body).iter():
                if element.tag.endswith("boolean"):
                    return (element.text or "").strip() == "true"
    except (ValueError, ElementTree.ParseError):
        return None
    return None


def check(server: ZigraphServer, request: ProtocolRequest) -> tuple[int, list[str]]:
    """Send one request; return its status and what about the answer was not as expected."""
    path = "/sparql" + request.path.removeprefix("/sparql/")  # "/sparql/?query=…"
    status, headers, body = server.request(
        request.method, path, request.body, dict(request.headers)
    )
    media_type = headers.get("content-type", "").split(";")[0].strip()
    problems = []
    if f"{status // 100}xx" not in request.statuses:
        shown = body[:200].decode(errors="replace").strip()
        problems.append(f"status {status}, expected {'/'.join(sorted(request.statuses))}: {shown}")
    elif request.format is not None and media_type not in RESULT_TYPES[request.format]:
        problems.append(f"{media_type or 'no media type'} is not a {request.format} format")
    elif request.boolean is not None and boolean_of(media_type, body) != request.boolean:
        problems.append(f"boolean {boolean_of(media_type, body)}, expected {request.boolean}")
    return status, problems


def run_test(server: ZigraphServer, test: ProtocolTest) -> dict[str, Any]:
    """Run a test's requests in order; return its result."""
    for index, request in enumerate(test.requests, 1):
        status, problems = check(server, request)
        if request.is_update and "2xx" in request.statuses and 400 <= status < 500:
            return {"result": "refused by design", "detail": f"request {index}: update, {status}"}
        if problems:
            return {"result": "fail", "detail": f"request {index}: {'; '.join(problems)}"}
    return {"result": "pass", "detail": ""}


def markdown(report: dict[str, Any]) -> str:
    """Return the report as Markdown: a line of totals, then one row per test."""
    results = [t["result"] for t in report["tests"]]
    totals = ", ".join(f"{results.count(r)} {r}" for r in ("pass", "fail", "refused by design"))
    lines = [
        "# zigraph and the W3C SPARQL 1.1 Protocol tests",
        "",
        f"zigraph {report['revision']}, {report['date']}, {report['seconds']} s. Made by "
        "`python bench/protocol.py --suites <rdf-tests>` (`sparql/sparql11/protocol/`).",
        "",
        f"**{len(results)} tests: {totals}.**",
        "",
        "The graphs data1–3 are served under the IRIs the manifest names; data0.rdf, named by "
        "seven tests and shipped by none, is served with one triple (see `bench/protocol.py`).",
        "",
        "| test | what it asks | result | detail |",
        "| --- | --- | --- | --- |",
    ]
    for test in report["tests"]:
        detail = " ".join(test["detail"].split()).replace("|", "\\|")
        lines.append(f"| `{test['name']}` | {test['title']} | {test['result']} | {detail} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the protocol tests against zigraph; write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--suites",
        type=Path,
        default=os.environ.get("ZIGRAPH_RDF_TESTS"),
        help="a local copy of w3c/rdf-tests (the folder holding sparql/); env ZIGRAPH_RDF_TESTS",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "protocol", help="writes PATH.md and PATH.json"
    )
    args = parser.parse_args(argv)
    manifest = Path(args.suites or "") / "sparql" / "sparql11" / "protocol" / "manifest.ttl"
    if args.suites is None or not manifest.is_file():
        parser.error("--suites (or ZIGRAPH_RDF_TESTS) must name a copy of w3c/rdf-tests")
    started = time.time()
    tests, graphs = read_manifest(manifest.resolve())
    with tempfile.TemporaryDirectory() as folder:
        data = write_dataset(graphs, Path(folder))
        with ZigraphServer(["--data", str(data), "--no-validate"], query_timeout=5) as server:
            results = [{"name": t.name, "title": t.title, **run_test(server, t)} for t in tests]
    report = {
        "revision": revision(),
        "date": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
        "seconds": round(time.time() - started),
        "tests": results,
    }
    text = markdown(report)
    sys.stdout.write(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".md").write_text(text)
    args.output.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
