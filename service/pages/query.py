"""The query page: a form, the example queries, the results as a table or Turtle, and errors
explained in the reader's language with a way to fix them.

The editor (CodeMirror 5, its SPARQL mode and its hint add-on) is an npm package that
``make serve`` and ``make test`` install into ``node_modules/``; this blueprint serves the few
files the page uses from there. Without them, or without JavaScript, the page is a plain form.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, abort, render_template, request, send_from_directory, url_for
from rapidfuzz import fuzz, process
from werkzeug.wrappers import Response

from service import querysafety, resources
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
    ZigraphError,
)
from service.export import FORMATS, serialize_triples
from service.i18n import error_message, get_language, translate
from service.namespaces import PREFIXES, compact
from service.pages.browse import per_version
from service.pages.labels import Labels, sparql_iri, term_view
from service.queryparser import MAX_DEPTH, WELL_KNOWN_PREFIXES, XSD, ParsedQuery
from service.querysafety import check_request
from service.settings import get_settings
from service.store import get_store
from service.store.reading import read_client_query
from service.urls import public_url

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
LINES_BEFORE = 2  # lines of the query shown above the one where the parser stopped
# The prefixes a query may use undeclared and be offered the line for: the project's own
# (zi:, zid:...) over the parser's list of well-known vocabularies.
KNOWN_PREFIXES = {**WELL_KNOWN_PREFIXES, **PREFIXES}
# What the parser says it expected, and the message that says it in the reader's language.
EXPECTED = {
    "the end of the query": "query_expected_end",
    "an IRI": "query_expected_iri",
    "a variable": "query_expected_variable",
    "a literal": "query_expected_literal",
    "an integer": "query_expected_integer",
    "an expression": "query_expected_expression",
    "an object": "query_expected_object",
    "a predicate": "query_expected_predicate",
    "a triple pattern": "query_expected_triple_pattern",
    "a property path": "query_expected_property_path",
    "'.', '}' or a graph pattern": "query_expected_graph_pattern",
    "SELECT, CONSTRUCT, DESCRIBE or ASK": "query_expected_form",
    "'*', a variable or '(' expression AS ?variable ')'": "query_expected_projection",
    "'(' or a function call": "query_expected_constraint",
    "a value, UNDEF or '}'": "query_expected_value",
    "an IRI after the prefix name": "query_expected_prefix_iri",
    "a prefix name ending with ':' after PREFIX": "query_expected_prefix_name",
    "a grouping condition after GROUP BY": "query_expected_group",
    "an ordering condition after ORDER BY": "query_expected_order",
}
EXPECTED_FOUND = re.compile(r"expected (.*), found (.*)$", re.DOTALL)
# Refusals of a valid query (QueryRefused's reason), explained in the reader's language.
REFUSALS = {
    "service": "query_refused_service",
    "function": "query_refused_function",
    "too-deep": "query_refused_too_deep",
    "extension": "query_refused_extension",
    "unknown-graph": "query_refused_unknown_graph",
}
TERMS_KEY = "zigraph.query.terms"
MOST_TERMS_CHECKED = 50  # IRIs of one query looked up when it returns nothing
MOST_TERMS_OFFERED = 400  # terms the editor completes, the most used first
SUGGESTION_SCORE = 80  # how alike (0-100) a known term must be to be offered instead

# The editor: files of the npm package `codemirror` (version 5) that the page loads.
EDITOR_PACKAGE = Path(__file__).resolve().parents[2] / "node_modules" / "codemirror"
EDITOR_FILES = (
    "lib/codemirror.css",
    "addon/hint/show-hint.css",
    "lib/codemirror.js",
    "mode/sparql/sparql.js",
    "addon/hint/show-hint.js",
    "addon/edit/matchbrackets.js",
)


@dataclass
class ErrorPlace:
    """Where in the query a parser stopped: line and column (from 1) and that line's text.

    :param before: the numbered lines above it, shown with it.
    """

    line: int
    column: int
    text: str
    before: list[tuple[int, str]]

    @property
    def head(self) -> str:
        """Return the line's text before the spot."""
        return self.text[: self.column - 1]

    @property
    def spot(self) -> str:
        """Return the character at the spot (a space past the end of the line)."""
        return self.text[self.column - 1 : self.column] or " "

    @property
    def tail(self) -> str:
        """Return the line's text after the spot."""
        return self.text[self.column :]


def error_place(sparql: str, message: str, error: Exception | None = None) -> ErrorPlace | None:
    """Return the place an error names in the query (its details, else its message), if any."""
    details = getattr(error, "details", {}) or {}
    if isinstance(details.get("line"), int) and isinstance(details.get("column"), int):
        line, column = details["line"], details["column"]
    else:
        match = POSITION.search(message)
        if match is None:
            return None
        numbers = match.group(1, 2) if match.group(1) else match.group(3, 4)
        line, column = (int(n) for n in numbers)
    lines = sparql.split("\n")
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1].rstrip("\r")
    before = [(n, lines[n - 1].rstrip("\r")) for n in range(max(1, line - LINES_BEFORE), line)]
    return ErrorPlace(line, max(1, min(column, len(text) + 1)), text, before)


def prefix_lines(sparql: str, first: str) -> list[str]:
    """Return the ``PREFIX`` lines that declare every well-known prefix the query leaves out.

    The parser stops at the first undeclared prefix (``first``); the query is read again with
    each line added, so that one click declares them all.
    """
    lines: list[str] = []
    prefix: object = first
    while isinstance(prefix, str) and prefix in KNOWN_PREFIXES:
        line = f"PREFIX {prefix}: <{KNOWN_PREFIXES[prefix]}>"
        if line in lines:
            break
        lines.append(line)
        if len(sparql) > querysafety.INLINE_BYTES:  # read long queries once, in an evaluator
            break
        try:
            querysafety.check_query("\n".join([*lines, sparql]), public_url("sparql.query"))
        except ZigraphError as error:
            prefix = error.details.get("prefix")
            continue
        break
    return lines


def explain(error: Exception, sparql: str) -> dict[str, object]:
    """Return what the page says of an error: its heading, what it means, where, how to fix it."""
    heading = next(v for k, v in QUERY_ERRORS.items() if isinstance(error, k))
    message = getattr(error, "message", None) or str(error)
    details = getattr(error, "details", {}) or {}
    explained: dict[str, object] = {
        "heading": heading,
        "message": message,
        "place": error_place(sparql, message, error),
        "text": None,
        "undeclared": None,
        "fix_lines": [],
        "fix_query": None,
    }
    prefix = details.get("prefix")
    reason = details.get("reason")
    detail = message.partition(": ")[2] if message.startswith("Syntax error") else message
    found = EXPECTED_FOUND.search(detail)
    if isinstance(prefix, str):
        lines = prefix_lines(sparql, prefix)
        explained["undeclared"] = prefix
        explained["fix_lines"] = lines
        explained["fix_query"] = "\n".join([*lines, sparql]) if lines else None
    elif isinstance(error, QuerySyntaxError) and found:
        expected, shown = found.groups()
        key = EXPECTED.get(expected)
        explained["text"] = translate(
            "query_syntax_expected",
            expected=translate(key) if key else expected,
            found=translate("query_expected_end") if shown == "the end of the query" else shown,
        )
    elif isinstance(reason, str) and reason in REFUSALS:
        subject = re.split(r" at line \d+| is not a graph", message)[0]
        explained["text"] = translate(REFUSALS[reason], term=subject, depth=MAX_DEPTH)
    else:
        code = getattr(error, "code", "query-syntax")
        explained["text"] = error_message(code)
    return explained


@dataclass
class MissingTerm:
    """An IRI of a query that occurs nowhere in the store, and the known term most like it."""

    term: str
    suggestion: str | None
    fixed_query: str | None


def known_terms() -> Counter[str]:
    """Return the properties and classes of the store with how often each is used.

    They are part of the VoID statistics, counted when the store is built; kept per version.
    """

    def count() -> Counter[str]:
        figures = get_store().statistics()
        return Counter(figures.get("properties", {})) + Counter(figures.get("classes", {}))

    return per_version(TERMS_KEY, count)


def missing_terms(parsed: ParsedQuery, sparql: str) -> list[MissingTerm]:
    """Return the query's IRIs that occur in no graph, each with the nearest known term.

    Properties and classes are known from the store's statistics (counted when it is built);
    the other IRIs are looked up in one query, as subjects or objects.
    """
    store = get_store()
    known = known_terms()
    skipped = set(store.graphs()) | set(parsed.from_graphs) | set(parsed.from_named_graphs)
    asked = sorted(
        iri
        for iri in parsed.iris
        if iri not in known and iri not in skipped and not iri.startswith(XSD)
    )[:MOST_TERMS_CHECKED]
    wanted = []
    for iri in asked:
        try:
            wanted.append(sparql_iri(iri))
        except ValueError:
            continue
    if not wanted:
        return []
    found = store.query(
        f"SELECT DISTINCT ?t WHERE {{ VALUES ?t {{ {' '.join(wanted)} }} "
        "FILTER(EXISTS { ?t ?p ?o } || EXISTS { ?s ?p ?t }) }"
    )
    present = {row[0].value for row in found.rows if isinstance(row[0], ox.NamedNode)}
    shown = {compact(term): term for term in known}
    missing = []
    for iri in asked:
        if iri in present:
            continue
        term = compact(iri)
        best = process.extractOne(term, list(shown), scorer=fuzz.ratio)
        suggestion = best[0] if best and best[1] >= SUGGESTION_SCORE else None
        fixed = (
            replaced(sparql, (iri, term), (shown[suggestion], suggestion)) if suggestion else None
        )
        missing.append(MissingTerm(term, suggestion, fixed))
    return missing


def replaced(sparql: str, term: tuple[str, str], other: tuple[str, str]) -> str | None:
    """Return the query with a term (IRI, short form) replaced by another where it is written.

    None when the query writes it some other way (with a prefix of its own).
    """
    (iri, short), (other_iri, other_short) = term, other
    if f"<{iri}>" in sparql:
        return sparql.replace(f"<{iri}>", f"<{other_iri}>")
    written = re.compile(rf"(?<![\w:]){re.escape(short)}(?![\w-]|\.[\w-])")
    return written.sub(other_short, sparql) if written.search(sparql) else None


def editor_available() -> bool:
    """Return whether the editor's package is installed (``make serve`` or ``make test``)."""
    return all((EDITOR_PACKAGE / name).is_file() for name in EDITOR_FILES)


def completions() -> dict[str, object]:
    """Return what the editor completes: the known prefixes and the most used terms."""
    return {
        "prefixes": KNOWN_PREFIXES,
        "terms": [compact(term) for term, _ in known_terms().most_common(MOST_TERMS_OFFERED)],
    }


def page_context(sparql: str, **values: object) -> dict[str, object]:
    """Return what every rendering of the page needs, with ``values``."""
    editor = editor_available()
    return {
        "sparql": sparql,
        "examples": examples(),
        "result": None,
        "error": None,
        "missing": [],
        "editor_files": [url_for("query.editor_file", name=n) for n in EDITOR_FILES]
        if editor
        else [],
        "completions": completions() if editor else None,
        **values,
    }


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


@bp.route("/query/editor/<path:name>")
def editor_file(name: str) -> Response:
    """Serve one file of the installed editor package; the page loads no other."""
    if name not in EDITOR_FILES or not editor_available():
        abort(404)
    return send_from_directory(EDITOR_PACKAGE, name, max_age=24 * 3600)


@bp.route("/query")
def page():
    """Show the query form and, when a query is given, its results."""
    sparql = request.values.get("query", "")
    if not sparql.strip():
        listed = examples()
        chosen = request.args.get("example")
        example = next((e for e in listed if e.name == chosen), listed[0] if listed else None)
        return render_template(
            "pages/query.html", **page_context(example.text if example else "", examples=listed)
        )
    context = page_context(sparql)
    status = 200
    started = time.perf_counter()
    try:
        store = get_store()
        checked = read_client_query(sparql, request.remote_addr)
        check_request(checked, None, None, store.graphs)
        result = store.query(checked, client=request.remote_addr)
    except tuple(QUERY_ERRORS) as error:
        context["error"] = explain(error, sparql)
        status = getattr(error, "status", 400)
        return render_template("pages/query.html", **context), status
    context["result"] = result
    context["elapsed_ms"] = round((time.perf_counter() - started) * 1000)
    context["raw"] = request.args.get("raw") == "1"
    context["downloads"] = download_links(sparql, result.kind)
    context["limit"] = get_settings().result_limit
    empty = {
        "bindings": not result.rows,
        "graph": not result.triples,
        "boolean": not result.boolean,
    }.get(result.kind, False)
    if empty:
        context["missing"] = missing_terms(checked, sparql)
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
