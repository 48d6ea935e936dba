"""Decide, in microseconds and without parsing, whether the endpoint runs a client's query.

This is the second of two layers. The first is where queries run: evaluator processes
with no network at all (``service.store.isolation``), so no query, however it is spelled,
can reach another host from the embedded store. This pre-check refuses what the endpoint
does not do before any engine sees it, for the embedded store and for a remote store alike:

- a live ``SERVICE`` keyword, or an update keyword (INSERT, LOAD, DROP, …);
- a function called by an IRI that is not an XSD cast (``bif:http_get``, ``sql:…`` and every
  other extension function of any store);
- a bare word that is not SPARQL 1.1 (``DEFINE`` pragmas and other store extensions);
- brackets nested deeper than ``MAX_DEPTH``.

It reads the text with a linear tokenizer (one regular expression, one pass), twice: as
written, and with every ``\\uXXXX``/``\\UXXXXXXXX`` escape expanded, since SPARQL 1.1 §19.2
expands them before parsing while some engines expand them only inside strings. A query is
refused when either reading breaks a rule, so escapes cannot make the engine read a clause
that the check did not see. Everything else, syntax errors included, is the engine's to
report. The check also collects the query's form and its ``FROM``/``FROM NAMED`` IRIs.

The service's own queries are written by the service and are not checked.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urljoin

from cachetools import LRUCache

from service.errors import QueryRefused, QuerySyntaxError, UpdateRefused, ZigraphError

MAX_DEPTH = 64  # brackets ( { [ << nested deeper than this are refused
DECISION_CACHE_BYTES = 4 * 2**20  # decisions kept per process, keyed by a digest of the query
SHOWN = 60  # characters of a token quoted in a message
XSD = "http://www.w3.org/2001/XMLSchema#"

FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
UPDATE_WORDS = frozenset(
    "INSERT DELETE LOAD CLEAR CREATE DROP COPY MOVE ADD WITH USING DATA".split()
)
KEYWORDS = frozenset(
    """BASE PREFIX SELECT CONSTRUCT DESCRIBE ASK FROM NAMED WHERE ORDER BY ASC DESC LIMIT
    OFFSET DISTINCT REDUCED AS GROUP HAVING VALUES UNDEF OPTIONAL GRAPH UNION MINUS FILTER
    BIND NOT IN EXISTS A TRUE FALSE SILENT VERSION""".split()
)
BUILT_INS = frozenset(
    """COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT SEPARATOR STR LANG LANGMATCHES DATATYPE BOUND
    IRI URI BNODE RAND ABS CEIL FLOOR ROUND CONCAT STRLEN UCASE LCASE ENCODE_FOR_URI CONTAINS
    STRSTARTS STRENDS STRBEFORE STRAFTER YEAR MONTH DAY HOURS MINUTES SECONDS TIMEZONE TZ NOW
    UUID STRUUID MD5 SHA1 SHA256 SHA384 SHA512 COALESCE IF STRLANG STRDT SAMETERM ISIRI ISURI
    ISBLANK ISLITERAL ISNUMERIC REGEX SUBSTR REPLACE TRIPLE SUBJECT PREDICATE OBJECT ISTRIPLE
    LANGDIR HASLANG HASLANGDIR STRLANGDIR""".split()
)
OPENING = {"(": ")", "{": "}", "[": "]", "<<": ">>"}

_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
_ECHAR = r"\\[tbnrf\"'\\]"
_NAME_START = r"[^\W\d]"  # a letter, in any script
# A prefix is looked for at most this far, so that a long run like "x.x.x.x…" without a colon
# costs a bounded scan at each start instead of one to its end (quadratic). A longer prefix
# reads as a bare word, which is refused as not SPARQL.
MAX_PREFIX = 64
_TOKEN = re.compile(
    rf"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<iri><(?:[^<>"{{}}|^`\\\x00-\x20]|{_UCHAR})*>)
  | (?P<string>'''(?:'{{0,2}}(?:[^'\\]|{_ECHAR}|{_UCHAR}))*'''
              |\"\"\"(?:"{{0,2}}(?:[^"\\]|{_ECHAR}|{_UCHAR}))*\"\"\"
              |'(?:[^'\\\n\r]|{_ECHAR}|{_UCHAR})*'
              |"(?:[^"\\\n\r]|{_ECHAR}|{_UCHAR})*")
  | (?P<variable>[?$]\w+)
  | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<bnode>_:[\w.\-]*)
  | (?P<pname>(?:{_NAME_START}[\w.\-]{{0,{MAX_PREFIX}}})?:(?:[\w:%.\-]|\\[_~.\-!$&'()*+,;=/?\#@%])*)
  | (?P<number>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)
  | (?P<word>{_NAME_START}\w*)
  | (?P<punct><<|>>|\^\^|&&|\|\||!=|<=|>=|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(_UCHAR)


class Token(NamedTuple):
    """One token of a query: its kind (a group name of ``_TOKEN``), text and offset."""

    kind: str
    text: str
    offset: int


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed the checks: its form and the graphs its FROM clauses name."""

    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE
    from_graphs: tuple[str, ...] = field(default=())
    from_named_graphs: tuple[str, ...] = field(default=())

    @property
    def returns_graph(self) -> bool:
        """Return whether the answer is RDF triples (CONSTRUCT, DESCRIBE)."""
        return self.form in ("CONSTRUCT", "DESCRIBE")

    @property
    def names_dataset(self) -> bool:
        """Return whether the query chooses its own dataset with FROM or FROM NAMED."""
        return bool(self.from_graphs or self.from_named_graphs)


def tokens(text: str) -> list[Token]:
    """Return the significant tokens of a query (no spaces, no comments), in one pass."""
    found = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "space" or kind == "comment":
            continue
        value = match.group()
        if kind == "pname" and value.endswith("."):  # a local name never ends with a dot
            value = value[: value.index(":") + 1] + value[value.index(":") + 1 :].rstrip(".")
            # the dots given back are punctuation (the end of a triple pattern)
            found.append(Token(kind, value, match.start()))
            end = match.start() + len(value)
            found.extend(Token("punct", ".", end + i) for i in range(match.end() - end))
            continue
        found.append(Token(kind, value, match.start()))
    return found


def expand_escapes(text: str) -> str:
    """Return the text with its \\u and \\U escapes replaced, as SPARQL 1.1 §19.2 reads it."""

    def character(match: re.Match[str]) -> str:
        code = int(match.group()[2:], 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return match.group()  # not a character: left for the engine to refuse
        return chr(code)

    return _ESCAPE.sub(character, text)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _iri(text: str) -> str:
    return expand_escapes(text[1:-1])


class _Reading:
    """One reading of the query text, checked token by token."""

    def __init__(self, text: str, expanded: bool) -> None:
        self.text = text
        self.expanded = expanded
        self.prefixes: dict[str, str] = {}
        self.base = ""
        self.form: str | None = None
        self.from_graphs: list[str] = []
        self.from_named: list[str] = []

    def where(self, token: Token) -> str:
        line, column = _position(self.text, token.offset)
        where = f"line {line}, column {column}"
        if self.expanded:
            where += " (read with its \\u escapes expanded, as SPARQL 1.1 section 19.2 says)"
        return where

    def resolve(self, token: Token) -> str | None:
        """Return the IRI an IRI reference or prefixed name stands for, None if undeclared."""
        if token.kind == "iri":
            return urljoin(self.base, _iri(token.text)) if self.base else _iri(token.text)
        prefix, _, local = token.text.partition(":")
        namespace = self.prefixes.get(prefix)
        return None if namespace is None else namespace + re.sub(r"\\(.)", r"\1", local)

    def check(self) -> None:
        """Raise why the endpoint refuses this reading; collect its form and FROM graphs."""
        stack: list[str] = []
        listed = tokens(self.text)
        last = len(listed) - 1
        for index, token in enumerate(listed):
            kind, text = token.kind, token.text
            if kind == "punct":
                closer = OPENING.get(text)
                if closer is not None:
                    stack.append(closer)
                    if len(stack) > MAX_DEPTH:
                        raise QueryRefused(
                            f"The query nests brackets more than {MAX_DEPTH} deep at "
                            f"{self.where(token)}; split it into smaller queries.",
                            reason="too-deep",
                        )
                elif stack and text == stack[-1]:
                    stack.pop()
            elif kind == "word":
                self.check_word(token, listed, index)
            elif (kind == "iri" or kind == "pname") and index < last:
                following = listed[index + 1]
                if following.text == "(" and following.kind == "punct":
                    self.check_function(token)

    def check_word(self, token: Token, listed: list[Token], index: int) -> None:
        word = token.text.upper()
        if word == "SERVICE":
            raise QueryRefused(
                f"SERVICE at {self.where(token)} is refused: this endpoint does not query other "
                "endpoints on a client's behalf. Send the query to the other endpoint yourself.",
                reason="service",
            )
        if word in UPDATE_WORDS:
            raise UpdateRefused(
                f"{token.text[:SHOWN]} at {self.where(token)} belongs to a SPARQL update; "
                "this endpoint is read-only."
            )
        if word not in KEYWORDS and word not in BUILT_INS:
            line, column = _position(self.text, token.offset)
            raise QuerySyntaxError(
                f"{token.text[:SHOWN]!r} at {self.where(token)} is not a SPARQL 1.1 keyword or "
                "function; extensions of particular stores are not accepted here.",
                line=line,
                column=column,
            )
        following = listed[index + 1 : index + 3]
        if word in FORMS and self.form is None:
            self.form = word
        elif word == "PREFIX" and len(following) == 2:
            name, iri = following
            if name.kind == "pname" and iri.kind == "iri":
                self.prefixes[name.text[:-1]] = self.resolve(iri) or ""
        elif word == "BASE" and following and following[0].kind == "iri":
            self.base = self.resolve(following[0]) or ""
        elif word == "FROM" and following:
            named = following[0].kind == "word" and following[0].text.upper() == "NAMED"
            graph = following[1] if named and len(following) > 1 else following[0]
            if graph.kind in ("iri", "pname"):
                iri = self.resolve(graph) or graph.text
                (self.from_named if named else self.from_graphs).append(iri)

    def check_function(self, token: Token) -> None:
        iri = self.resolve(token)
        if iri is not None and iri.startswith(XSD):
            return  # a cast, evaluated by the engine itself
        raise QueryRefused(
            f"{token.text[:SHOWN]} at {self.where(token)} calls a function that is not part of "
            "SPARQL 1.1; only the standard functions and XSD casts are evaluated here. (If it is a "
            "predicate followed by an RDF collection, bind the collection to a variable.)",
            reason="function",
        )


def _decision_size(decision: CheckedQuery | tuple) -> int:
    return 200 + len(repr(decision))  # the key, the objects and the texts they hold


_decisions: LRUCache = LRUCache(maxsize=DECISION_CACHE_BYTES, getsizeof=_decision_size)
_decisions_lock = threading.Lock()


def _decide(sparql: str) -> CheckedQuery:
    readings = [_Reading(sparql, expanded=False)]
    expanded = expand_escapes(sparql)
    if expanded != sparql:
        readings.append(_Reading(expanded, expanded=True))
    for reading in readings:
        reading.check()
    first = readings[0]
    if first.form is None:
        raise QuerySyntaxError(
            "The request holds no SELECT, CONSTRUCT, DESCRIBE or ASK query.", line=1, column=1
        )
    from_graphs = {iri for r in readings for iri in r.from_graphs}
    from_named = {iri for r in readings for iri in r.from_named}
    return CheckedQuery(first.form, tuple(sorted(from_graphs)), tuple(sorted(from_named)))


def decision_key(sparql: str) -> bytes:
    """Return the key a query's decision is cached under: a digest of its text."""
    return hashlib.blake2b(sparql.encode("utf-8", "surrogatepass"), digest_size=32).digest()


def check_query(sparql: str) -> CheckedQuery:
    """Return a query's form and FROM graphs, or raise why the endpoint refuses it.

    Decisions, refusals included, are kept per process under a digest of the query text, so
    a repeated query costs a hash; they take at most ``DECISION_CACHE_BYTES``.
    """
    key = decision_key(sparql)
    with _decisions_lock:
        decision = _decisions.get(key)
    if decision is None:
        try:
            decision = _decide(sparql)
        except ZigraphError as refusal:  # kept as data: each request raises its own error
            decision = (type(refusal), refusal.message, refusal.details)
        with _decisions_lock:
            _decisions[key] = decision
    if isinstance(decision, tuple):
        kind, message, details = decision
        raise kind(message, **details)
    return decision


def check_request(
    sparql: str,
    default_graph_uris: list[str] | None,
    named_graph_uris: list[str] | None,
    known_graphs: Callable[[], Iterable[str]],
) -> tuple[CheckedQuery, list[str]]:
    """Check a query and every graph it or the request names; return both."""
    checked = check_query(sparql)
    named = [
        *(default_graph_uris or ()),
        *(named_graph_uris or ()),
        *checked.from_graphs,
        *checked.from_named_graphs,
    ]
    if named:
        check_graphs(named, known_graphs())
    return checked, named


def check_graphs(iris: Iterable[str], known: Iterable[str]) -> None:
    """Raise QueryRefused when an IRI names no graph of the store (graphs are never fetched)."""
    known = set(known)
    unknown = sorted(set(iris) - known)
    if unknown:
        raise QueryRefused(
            f"{unknown[0]} is not a graph of this store; graphs are never fetched from the "
            "web. The store's graphs are listed in the service description.",
            reason="unknown-graph",
        )
