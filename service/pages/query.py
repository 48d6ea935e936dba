"""The query page: a form, the example queries, and the results as a table or Turtle."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, render_template, request

from service import resources
from service.errors import (
    BackendError,
    BackendUnavailable,
    EndpointBusy,
    EvaluatorCrashed,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    TooManyQueries,
    UpdateRefused,
)
from service.export import FORMATS, serialize_triples
from service.i18n import get_language
from service.pages.labels import Labels, term_view
from service.querysafety import check_request
from service.settings import get_settings
from service.store import get_store
from service.store.reading import read_client_query

bp = Blueprint("query", __name__)

RESULT_DOWNLOADS = ("json", "xml", "csv", "tsv")
GRAPH_DOWNLOADS = ("ttl", "jsonld", "nt", "rdf", "trig", "nq")
MOST_ROWS_SHOWN = 500
HEADER = re.compile(r"^#\s*([A-Za-z-]+)\s*:\s*(.*)$")
# Errors a query can meet, and the heading each is shown under.
QUERY_ERRORS: dict[type[Exception], str] = {
    QuerySyntaxError: "query_error_syntax",
    SyntaxError: "query_error_syntax",
    QueryRefused: "query_error_refused",
    UpdateRefused: "query_error_refused",
    QueryTimeout: "query_error_timeout",
    EndpointBusy: "query_error_backend",
    TooManyQueries: "query_error_backend",
    EvaluatorCrashed: "query_error_backend",
    BackendUnavailable: "query_error_backend",
    BackendError: "query_error_backend",
}


# "line 1, column 29" (rdflib) or "error at 1:29" (Oxigraph): where a parser stopped.
POSITION = re.compile(r"line (\d+), column (\d+)|\bat (\d+):(\d+)")


@dataclass
class ErrorPlace:
    """Where in the query a parser stopped: line and column (from 1) and that line's text."""

    line: int
    column: int
    text: str


def error_place(sparql: str, message: str) -> ErrorPlace | None:
    """Return the place a syntax error message names in the query, if it names one in it."""
    match = POSITION.search(message)
    if match is None:
        return None
    line, column = (int(n) for n in (match.group(1, 2) if match.group(1) else match.group(3, 4)))
    lines = sparql.split("\n")
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    return ErrorPlace(line, max(1, min(column, len(text) + 1)), text)


@dataclass
class Example:
    """An example query from ``queries/*.rq`` and what its header comments say."""

    name: str
    text: str
    descriptions: dict[str, str]
    answers: dict[str, str]

    @property
    def title(self) -> str:
        """Return the description in the reader's language, else the other one, else the name."""
        lang = get_language()
        return self.descriptions.get(lang) or next(iter(self.descriptions.values()), self.name)

    @property
    def expected(self) -> str | None:
        """Return the expected answer in the reader's language, else the Indonesian one."""
        return self.answers.get(get_language()) or self.answers.get("id")


def read_example(path: Path) -> Example:
    """Read one example query; its leading ``# key: value`` lines describe it."""
    text = path.read_text(encoding="utf-8")
    descriptions: dict[str, str] = {}
    answers: dict[str, str] = {}
    for line in text.splitlines():
        match = HEADER.match(line.strip())
        if not match:
            if line.strip() and not line.lstrip().startswith("#"):
                break
            continue
        key, value = match.group(1).lower(), match.group(2).strip()
        if key in ("id", "en"):
            descriptions[key] = value
        elif key == "expected":  # the Indonesian answer; expected-en: the English one
            answers["id"] = value
        elif key.startswith("expected-"):
            answers[key.removeprefix("expected-")] = value
    return Example(path.stem, text, descriptions, answers)


def examples() -> list[Example]:
    """Return the example queries, sorted by file name."""
    folder = resources.folder("queries")
    if not folder.is_dir():
        return []
    return [read_example(path) for path in sorted(folder.glob("*.rq"))]


def download_links(sparql: str, kind: str) -> list[tuple[str, str]]:
    """Return (format, URL) pairs asking the SPARQL endpoint for the result in each format."""
    names = GRAPH_DOWNLOADS if kind == "graph" else RESULT_DOWNLOADS
    return [(name, "/sparql?" + urlencode({"query": sparql, "format": name})) for name in names]


@bp.route("/query")
def page():
    """Show the query form and, when a query is given, its results."""
    sparql = request.values.get("query", "")
    listed = examples()
    chosen = request.args.get("example")
    if not sparql.strip():
        example = next((e for e in listed if e.name == chosen), listed[0] if listed else None)
        return render_template(
            "pages/query.html",
            sparql=example.text if example else "",
            examples=listed,
            result=None,
            error=None,
        )
    context: dict[str, object] = {
        "sparql": sparql,
        "examples": listed,
        "result": None,
        "error": None,
    }
    status = 200
    started = time.perf_counter()
    try:
        store = get_store()
        checked = read_client_query(sparql, request.remote_addr)
        check_request(checked, None, None, store.graphs)
        result = store.query(checked, client=request.remote_addr)
    except tuple(QUERY_ERRORS) as error:
        heading = next(v for k, v in QUERY_ERRORS.items() if isinstance(error, k))
        message = getattr(error, "message", None) or str(error)
        context["error"] = {
            "heading": heading,
            "message": message,
            "place": error_place(sparql, message) if heading == "query_error_syntax" else None,
        }
        status = getattr(error, "status", 400)
        return render_template("pages/query.html", **context), status
    context["result"] = result
    context["elapsed_ms"] = round((time.perf_counter() - started) * 1000)
    context["raw"] = request.args.get("raw") == "1"
    context["downloads"] = download_links(sparql, result.kind)
    context["limit"] = get_settings().result_limit
    if result.kind == "bindings":
        rows = result.rows[:MOST_ROWS_SHOWN]
        labels = Labels().fetch(t.value for row in rows for t in row if isinstance(t, ox.NamedNode))
        context["rows"] = [
            [
                term_view(t, labels)
                if isinstance(t, ox.NamedNode | ox.BlankNode | ox.Literal)
                else None
                for t in row
            ]
            for row in rows
        ]
        context["rows_hidden"] = len(result.rows) - len(rows)
    elif result.kind == "graph":
        context["turtle"] = serialize_triples(result.triples, FORMATS["ttl"]).decode()
    return render_template("pages/query.html", **context), status
