"""Read a client's SPARQL query with the grammar and write it again as zigraph's own text.

The query is read once, by a lexer and a recursive-descent parser that follow the SPARQL 1.1
grammar (section 19) and the SPARQL 1.2 forms that Oxigraph accepts (triple terms, reified
triples and annotations, ``VERSION``, base directions such as ``"a"@en--ltr``, and the
functions ``TRIPLE``, ``LANGDIR``, ``ADJUST``…). As it reads, the parser writes each token
again in a small canonical form:

- no comments and no declarations: every prefixed name and relative IRI is written as an
  absolute IRI in full (``BASE`` and ``PREFIX`` are applied here, by RFC 3986);
- IRIs between ``<`` and ``>`` with no escapes; strings in double quotes with only the
  escapes ``\\" \\\\ \\n \\r \\t \\b \\f`` (and ``\\uXXXX`` for other control characters,
  which every reading of SPARQL expands to the same character inside a string);
- keywords in upper case, one space between tokens.

That text, not the client's, is what any store (embedded or remote) receives, so no store
reads a character that this parser did not read the same way: a comment, an escape or a
keyword glued to a name cannot be read one way here and another way by the store.

While reading, the parser refuses what the endpoint does not do, each for its stated reason:
``SERVICE`` (the endpoint does not call other endpoints), updates (read-only), and functions
that are neither SPARQL's own nor XSD casts (extensions such as Virtuoso's ``bif:``). It also
collects what the routes and stores need: the form, the ``FROM``/``FROM NAMED`` graphs, the
variables bound to booleans, and the parts of the solution modifier.

Its cost is linear in the length of the query: the lexer reads each character a bounded
number of times and stops at the first error (an unterminated string is an error at its
opening quote, never a retry one character further), and the parser reads each token once.
Brackets nested deeper than ``MAX_DEPTH`` are refused, which bounds the recursion.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from service.errors import QueryRefused, QuerySyntaxError, UpdateRefused
from service.namespaces import PREFIXES
from service.reach import Group, Pattern, Reach, Variable, resolve

MAX_DEPTH = 64  # brackets ( { [ << nested deeper than this are refused
SHOWN = 40  # characters of a token quoted in a message
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
# The XSD casts SPARQL 1.1 defines (section 17.5) and those Oxigraph adds: the only IRIs that
# may be called as functions.
XSD_CASTS = frozenset(
    XSD + name
    for name in """string boolean decimal integer float double dateTime date time duration
    yearMonthDuration dayTimeDuration gYear gYearMonth gMonth gDay gMonthDay""".split()
)

# Prefixes offered when a query uses one it does not declare.
WELL_KNOWN_PREFIXES = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": XSD,
    "owl": "http://www.w3.org/2002/07/owl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dct": "http://purl.org/dc/terms/",
    "dcterms": "http://purl.org/dc/terms/",
    "schema": "https://schema.org/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "prov": "http://www.w3.org/ns/prov#",
    "org": "http://www.w3.org/ns/org#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "void": "http://rdfs.org/ns/void#",
    "sh": "http://www.w3.org/ns/shacl#",
    "oa": "http://www.w3.org/ns/oa#",
    "wd": "http://www.wikidata.org/entity/",
    **PREFIXES,  # zigraph's own (zi:, zid:, hydra:…), as the query page offers them
}

UPDATE_WORDS = frozenset(
    "INSERT DELETE LOAD CLEAR CREATE DROP COPY MOVE ADD WITH USING DATA".split()
)
# Built-in functions and how many arguments each takes (None: any number, NIL allowed).
AGGREGATES = frozenset("COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT".split())
BUILT_INS = frozenset(
    """STR LANG LANGMATCHES LANGDIR DATATYPE BOUND IRI URI BNODE RAND ABS CEIL FLOOR ROUND
    CONCAT STRLEN UCASE LCASE ENCODE_FOR_URI CONTAINS STRSTARTS STRENDS STRBEFORE STRAFTER
    YEAR MONTH DAY HOURS MINUTES SECONDS TIMEZONE TZ NOW UUID STRUUID MD5 SHA1 SHA256 SHA384
    SHA512 COALESCE IF STRLANG STRLANGDIR STRDT SAMETERM ISIRI ISURI ISBLANK ISLITERAL
    ISNUMERIC ISTRIPLE HASLANG HASLANGDIR REGEX SUBSTR REPLACE TRIPLE SUBJECT PREDICATE
    OBJECT ADJUST""".split()
)
BOOLEAN_BUILT_INS = frozenset(
    """LANGMATCHES BOUND CONTAINS STRSTARTS STRENDS SAMETERM ISIRI ISURI ISBLANK ISLITERAL
    ISNUMERIC ISTRIPLE HASLANG HASLANGDIR REGEX EXISTS""".split()
)
GRAPH_PATTERN_WORDS = frozenset("OPTIONAL MINUS GRAPH SERVICE FILTER BIND VALUES LATERAL".split())
RELATIONAL = frozenset(("=", "!=", "<", ">", "<=", ">="))
BINARY = RELATIONAL | {"||", "&&", "+", "-", "*", "/"}
OPERATOR_LEVELS = {"||": 1, "&&": 2, **dict.fromkeys(RELATIONAL, 3), "+": 4, "-": 4, "*": 5, "/": 5}

# --- the lexer ----------------------------------------------------------------------------

_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_CHARS_U = _BASE + "_"
_CHARS = _CHARS_U + "\\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_VARCHARS = _CHARS_U + "0-9\u00b7\u0300-\u036f\u203f-\u2040"
_HEX = "[0-9A-Fa-f]"
_UCHAR = rf"\\u{_HEX}{{4}}|\\U{_HEX}{{8}}"
_ECHAR = r"\\[tbnrf\"'\\]"
_PLX = rf"%{_HEX}{_HEX}|\\[_~.\-!$&'()*+,;=/?#@%]"
_EXPONENT = r"[eE][+-]?[0-9]+"

_SPACE = re.compile(r"(?:[ \t\r\n]++|#[^\r\n]*+)++")
_IRI = re.compile(rf"<((?:[^<>\"{{}}|^`\\\x00-\x20]|{_UCHAR})*+)>")
_STRINGS = {
    '"""': re.compile(rf'"""((?:(?:""|")?+(?:[^"\\]|{_ECHAR}|{_UCHAR}))*+)"""'),
    "'''": re.compile(rf"'''((?:(?:''|')?+(?:[^'\\]|{_ECHAR}|{_UCHAR}))*+)'''"),
    '"': re.compile(rf'"((?:[^"\\\n\r]|{_ECHAR}|{_UCHAR})*+)"'),
    "'": re.compile(rf"'((?:[^'\\\n\r]|{_ECHAR}|{_UCHAR})*+)'"),
}
_VAR = re.compile(rf"[?$]([{_VARCHARS}]++)")
_LANGTAG = re.compile(r"@([a-zA-Z]++(?:-[a-zA-Z0-9]++)*+(?:--[a-zA-Z]++)?+)")
_BNODE = re.compile(rf"_:([{_CHARS_U}0-9](?:[{_CHARS}.]*+))")
_NUMBER = re.compile(
    rf"[0-9]++\.[0-9]*+{_EXPONENT}|\.[0-9]++{_EXPONENT}|[0-9]++{_EXPONENT}"
    r"|[0-9]*+\.[0-9]++|[0-9]++"
)
_NAME_RUN = re.compile(rf"[{_BASE}](?:[{_CHARS}.]*+)")  # a prefix, or words and dots
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*+")
_LOCAL = re.compile(rf"(?:[{_CHARS_U}:0-9]|{_PLX})(?:[{_CHARS}.:]|{_PLX})*+")
_ANON = re.compile(r"\[[ \t\r\n]*+\]")
_NIL = re.compile(r"\([ \t\r\n]*+\)")
_PUNCT = re.compile(r"<<\(|\)>>|<<|>>|\{\||\|\}|\^\^|&&|\|\||!=|<=|>=|[{}()\[\];,.=<>!+\-*/?^|~]")
_ESCAPE = re.compile(rf"{_ECHAR}|{_UCHAR}")
DIGITS = frozenset("0123456789")
_ECHARS = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_FORBIDDEN_IN_IRI = re.compile(r'[<>"{}|^`\\\x00-\x20]')
_WRITTEN_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_WRITTEN_ESCAPES.update({"\b": "\\b", "\f": "\\f"})
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')


class Token:
    """One token: its kind, its value (decoded), and where it starts and ends in the text."""

    __slots__ = ("kind", "value", "start", "end", "extra")

    def __init__(self, kind: str, value: str, start: int, end: int, extra: str = "") -> None:
        self.kind = kind  # iri pname bnode var string langtag number word punct nil anon eof
        self.value = value
        self.start = start
        self.end = end
        self.extra = extra  # a prefixed name's local part


def _place(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def syntax_error(text: str, offset: int, message: str) -> QuerySyntaxError:
    """Return the error for ``message`` at ``offset``, with its line and column."""
    line, column = _place(text, offset)
    return QuerySyntaxError(
        f"Syntax error at line {line}, column {column}: {message}", line=line, column=column
    )


def _unescape(text: str, raw: str, offset: int) -> str:
    if "\\" not in raw:
        return raw

    def character(match: re.Match[str]) -> str:
        escape = match.group()
        if escape[1] in "uU":
            code = int(escape[2:], 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise syntax_error(text, offset, f"{escape} is not a character")
            return chr(code)
        return _ECHARS[escape[1]]

    return _ESCAPE.sub(character, raw)


def tokenize(text: str) -> list[Token]:
    """Return the tokens of a query, or raise at the first character that starts none."""
    return list(tokens_of(text))


def tokens_of(text: str) -> Iterator[Token]:
    """Yield the tokens of a query as they are read, ending with an ``eof`` token.

    Read lazily, so that a parser that stops at an error stops the reading there too.
    """
    position = 0
    length = len(text)
    no_colon_until = -1  # a run of name characters up to here is not followed by ':'
    while True:
        space = _SPACE.match(text, position)
        if space:
            position = space.end()
        if position >= length:
            yield Token("eof", "", length, length)
            return
        char = text[position]
        if char == "<":
            match = _IRI.match(text, position)
            if match:
                value = _unescape(text, match.group(1), position)
                if _FORBIDDEN_IN_IRI.search(value):
                    raise syntax_error(
                        text,
                        position,
                        "an escape in this IRI stands for a character that IRIs cannot hold",
                    )
                yield Token("iri", value, position, match.end())
                position = match.end()
                continue
        elif char == '"' or char == "'":
            opening = text[position : position + 3]
            if opening not in _STRINGS:
                opening = char
            match = _STRINGS[opening].match(text, position)
            if not match:
                raise syntax_error(text, position, _string_fault(text, position, opening))
            value = _unescape(text, match.group(1), position)
            yield Token("string", value, position, match.end())
            position = match.end()
            continue
        elif char == "?" or char == "$":
            match = _VAR.match(text, position)
            if match:
                yield Token("var", match.group(1), position, match.end())
                position = match.end()
                continue
        elif char == "@":
            match = _LANGTAG.match(text, position)
            if not match:
                raise syntax_error(text, position, "'@' must start a language tag")
            yield Token("langtag", match.group(1), position, match.end())
            position = match.end()
            continue
        elif char == "_" and text.startswith("_:", position):
            match = _BNODE.match(text, position)
            if not match:
                raise syntax_error(text, position, "a blank node label must follow '_:'")
            label = match.group(1).rstrip(".")
            end = position + 2 + len(label)
            yield Token("bnode", label, position, end)
            position = end
            continue
        elif "0" <= char <= "9" or (char == "." and text[position + 1 : position + 2] in DIGITS):
            match = _NUMBER.match(text, position)
            if not match:  # never: a digit, or a dot before one, starts a number
                raise syntax_error(text, position, "a number was expected")
            yield Token("number", match.group(), position, match.end())
            position = match.end()
            continue
        elif char == ":" or (position >= no_colon_until and _NAME_RUN.match(text, position)):
            run = _NAME_RUN.match(text, position) if char != ":" else None
            run_end = run.end() if run else position
            if run is None or text.startswith(":", run_end):
                prefix = text[position:run_end]
                if prefix.endswith("."):
                    raise syntax_error(text, position, "a prefix cannot end with '.'")
                local = _LOCAL.match(text, run_end + 1)
                # A local name never ends with '.', but may end with an escaped one ("\\.").
                raw_local = local.group().rstrip(".") if local else ""
                if raw_local.endswith("\\"):
                    raw_local += "."
                end = run_end + 1 + len(raw_local)
                value = re.sub(r"\\(.)", r"\1", raw_local) if "\\" in raw_local else raw_local
                yield Token("pname", prefix, position, end, value)
                position = end
                continue
            no_colon_until = run_end
        if char == "[":
            match = _ANON.match(text, position)
            if match:
                yield Token("anon", "[]", position, match.end())
                position = match.end()
                continue
        elif char == "(":
            match = _NIL.match(text, position)
            if match:
                yield Token("nil", "()", position, match.end())
                position = match.end()
                continue
        match = _WORD.match(text, position)
        if match:
            yield Token("word", match.group().upper(), position, match.end(), match.group())
            position = match.end()
            continue
        match = _PUNCT.match(text, position)
        if match:
            yield Token("punct", match.group(), position, match.end())
            position = match.end()
            continue
        raise syntax_error(text, position, f"{char!r} cannot start a token here")


def _string_fault(text: str, position: int, opening: str) -> str:
    """Say why the string opening at ``position`` is not one (one linear scan)."""
    index = position + len(opening)
    long = len(opening) == 3
    while index < len(text):
        char = text[index]
        if char == "\\":
            escape = text[index : index + 2]
            if escape[1:] in _ECHARS:
                index += 2
                continue
            if re.match(_UCHAR, text[index : index + 10]):
                index += 6 if escape[1] == "u" else 10
                continue
            line, column = _place(text, index)
            return (
                f"the string has an escape that SPARQL does not know, {escape!r} at line "
                f"{line}, column {column}"
            )
        if not long and char in "\r\n":
            return 'the string is not closed on its line (use """ for text over lines)'
        if text.startswith(opening, index):
            break
        index += 1
    return "the string is not closed"


# --- IRIs ----------------------------------------------------------------------------------

_IRI_PARTS = re.compile(
    r"^(?:([A-Za-z][A-Za-z0-9+.\-]*):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$", re.S
)


def _remove_dot_segments(path: str) -> str:
    output: list[str] = []
    while path:
        if path.startswith("../"):
            path = path[3:]
        elif path.startswith("./"):
            path = path[2:]
        elif path.startswith("/./"):
            path = "/" + path[3:]
        elif path == "/.":
            path = "/"
        elif path.startswith("/../"):
            path = "/" + path[4:]
            if output:
                output.pop()
        elif path == "/..":
            path = "/"
            if output:
                output.pop()
        elif path in (".", ".."):
            path = ""
        else:
            cut = path.find("/", 1 if path.startswith("/") else 0)
            cut = len(path) if cut < 0 else cut
            output.append(path[:cut])
            path = path[cut:]
    return "".join(output)


def resolve_iri(reference: str, base: str) -> str:
    """Return ``reference`` resolved against ``base`` by RFC 3986, section 5.2."""
    r = _IRI_PARTS.match(reference)
    if r is None or r.group(1) is not None or not base:
        return reference
    b = _IRI_PARTS.match(base)
    if b is None or b.group(1) is None:
        return reference
    scheme, authority, path, query, fragment = r.groups()
    b_scheme, b_authority, b_path, b_query, _ = b.groups()
    if authority is not None:
        path = _remove_dot_segments(path)
    else:
        if path == "":
            path = b_path
            query = query if query is not None else b_query
        else:
            if path.startswith("/"):
                path = _remove_dot_segments(path)
            else:
                if b_authority is not None and b_path == "":
                    merged = "/" + path
                else:
                    merged = b_path[: b_path.rfind("/") + 1] + path
                path = _remove_dot_segments(merged)
        authority = b_authority
    out = b_scheme + ":"
    if authority is not None:
        out += "//" + authority
    out += path
    if query is not None:
        out += "?" + query
    if fragment is not None:
        out += "#" + fragment
    return out


def write_string(value: str) -> str:
    """Return a string literal's canonical text: double quotes, standard escapes only."""
    if not _NEEDS_ESCAPE.search(value):
        return f'"{value}"'

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        return _WRITTEN_ESCAPES.get(char) or f"\\u{ord(char):04X}"

    return '"' + _NEEDS_ESCAPE.sub(escape, value) + '"'


# --- the parser ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderKey:
    """One condition of a query's ORDER BY that names a variable: its name and direction."""

    variable: str
    descending: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    """A client's query as read and checked: its canonical text and what the routes need.

    :param unordered: the canonical text without its top-level ORDER BY, LIMIT and OFFSET,
        when every ORDER BY condition is a variable (so the solutions can be ordered apart
        from the engine); None otherwise.
    """

    text: str
    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE
    from_graphs: tuple[str, ...] = ()
    from_named_graphs: tuple[str, ...] = ()
    boolean_variables: frozenset[str] = frozenset()
    order_keys: tuple[OrderKey, ...] = ()
    limit: int | None = None
    offset: int = 0
    unordered: str | None = None
    iris: frozenset[str] = field(default=frozenset(), compare=False)
    # The query's groups of patterns as read, for ``reach``; None when a pattern can match any
    # triple: ?s ?p ?o, a path that may be empty between two variables or is negated, a
    # collection, a triple term, DESCRIBE, or GRAPH over a group with no triple pattern of its
    # own (it lists graphs without matching a triple).
    patterns: Group | None = field(default=None, compare=False, repr=False)

    @cached_property
    def reach(self) -> Reach:
        """Return the triples the query's patterns can match, as (subject, predicate, object)
        shapes (service.reach); None for any triple. Worked out when first asked: only a
        remote store asks (32 µs of a lookup's 60 µs of reading, by hand)."""
        return None if self.patterns is None else resolve(self.patterns)

    @property
    def returns_graph(self) -> bool:
        """Return whether the answer is RDF triples (CONSTRUCT, DESCRIBE)."""
        return self.form in ("CONSTRUCT", "DESCRIBE")

    @property
    def names_dataset(self) -> bool:
        """Return whether the query chooses its own dataset with FROM or FROM NAMED."""
        return bool(self.from_graphs or self.from_named_graphs)


class _Parser:
    """Read the tokens of one query by the grammar, writing the canonical text as it goes."""

    def __init__(self, text: str, check: bool = True, base: str = "") -> None:
        self.text = text
        self.check = check
        self.source = tokens_of(text)
        self.token = next(self.source)  # the current token
        self.following: Token | None = None  # the token after it, once peeked at
        self.out: list[str] = []
        self.depth = 0
        self.base = base
        self.prefixes: dict[str, str] = {}
        self.form = ""
        self.from_graphs: list[str] = []
        self.from_named: list[str] = []
        self.booleans: set[str] = set()
        self.iris: set[str] = set()
        self.order_keys: list[OrderKey] | None = None
        self.order_span: tuple[int, int] | None = None
        self.limit: int | None = None
        self.offset = 0
        self.modifier_start: int | None = None
        self.in_aggregate = False
        self.any_triple = False  # a pattern can match any triple: the reach is None
        self.filtering = False  # reading a FILTER's constraint (not in a group of it)
        self.groups = [Group()]  # the groups being read, the query's own first, innermost last
        self.template = False  # reading a CONSTRUCT template, which matches nothing
        self.verb_iris: list[str] = []  # the IRIs of the verb being read
        self.verb_any = False  # the verb being read can be any predicate
        self.verb_empty = False  # the verb being read is a path that may be empty

    # tokens

    def peek(self) -> Token:
        """Return the token after the current one (the grammar needs no more look-ahead)."""
        if self.following is None:
            self.following = self.token if self.token.kind == "eof" else next(self.source)
        return self.following

    def advance(self) -> Token:
        token = self.token
        if token.kind != "eof":
            if self.following is not None:
                self.token, self.following = self.following, None
            else:
                self.token = next(self.source)
        return token

    def is_word(self, *words: str) -> bool:
        token = self.token
        return token.kind == "word" and token.value in words

    def is_punct(self, *marks: str) -> bool:
        token = self.token
        return token.kind == "punct" and token.value in marks

    def fail(self, expected: str, token: Token | None = None) -> QuerySyntaxError:
        token = token or self.token
        if token.kind == "eof":
            found = "the end of the query"
        else:
            found = repr(self.text[token.start : token.end][:SHOWN])
        return syntax_error(self.text, token.start, f"expected {expected}, found {found}")

    def expect_word(self, word: str) -> None:
        if not self.is_word(word):
            raise self.fail(word)
        self.advance()
        self.out.append(word)

    def expect_punct(self, mark: str) -> None:
        if not self.is_punct(mark):
            raise self.fail(f"'{mark}'")
        self.advance()
        self.out.append(mark)

    def open(self, mark: str) -> None:
        """Read an opening bracket, refusing nesting deeper than MAX_DEPTH."""
        token = self.token
        self.expect_punct(mark)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            line, column = _place(self.text, token.start)
            raise QueryRefused(
                f"The query nests brackets more than {MAX_DEPTH} deep at line {line}, column "
                f"{column}; split it into smaller queries.",
                reason="too-deep",
            )

    def close(self, mark: str) -> None:
        self.expect_punct(mark)
        self.depth -= 1

    def attach(self, text: str) -> None:
        """Write ``text`` joined to the previous token (a path modifier, a language tag)."""
        self.out[-1] += text

    # terms

    def iri_value(self, token: Token) -> str:
        """Return the absolute IRI an IRI token or prefixed name stands for."""
        if token.kind == "iri":
            return resolve_iri(token.value, self.base) if self.base else token.value
        namespace = self.prefixes.get(token.value)
        if namespace is None:
            raise self.undeclared(token)
        return namespace + token.extra

    def undeclared(self, token: Token) -> QuerySyntaxError:
        prefix = token.value
        line, column = _place(self.text, token.start)
        message = (
            f"Syntax error at line {line}, column {column}: the prefix '{prefix}:' is not declared."
        )
        known = WELL_KNOWN_PREFIXES.get(prefix)
        if known:
            message += f" Add this line before the query: PREFIX {prefix}: <{known}>"
        else:
            message += f" Declare it before the query: PREFIX {prefix}: <…>"
        return QuerySyntaxError(message, line=line, column=column, prefix=prefix)

    def write_iri(self, iri: str) -> None:
        self.iris.add(iri)
        self.out.append(f"<{iri}>")

    def is_iri(self) -> bool:
        return self.token.kind in ("iri", "pname")

    def term_shape(self) -> str:
        """Return the current term as a shape of ParsedQuery.reach has it: an IRI, a
        Variable for a variable, "" for any other term."""
        if self.is_iri():
            return self.iri_value(self.token)
        return Variable(self.token.value) if self.token.kind == "var" else ""

    def reaches(self, pattern: Pattern) -> None:
        """Note a pattern of the group being read."""
        if not self.template:
            self.groups[-1].patterns.append(pattern)

    def reaches_any(self) -> None:
        """Note that a pattern can match any triple."""
        if not self.template:
            self.any_triple = True

    def iri(self) -> str:
        if not self.is_iri():
            raise self.fail("an IRI")
        iri = self.iri_value(self.advance())
        self.write_iri(iri)
        return iri

    def literal(self) -> None:
        """Read a string with its language tag or datatype, a number or a boolean."""
        token = self.token
        if token.kind == "string":
            self.advance()
            self.out.append(write_string(token.value))
            if self.token.kind == "langtag":
                self.attach("@" + self.advance().value)
            elif self.is_punct("^^"):
                self.advance()
                if not self.is_iri():
                    raise self.fail("the datatype IRI after '^^'")
                datatype = self.iri_value(self.advance())
                self.iris.add(datatype)
                self.attach(f"^^<{datatype}>")
        elif token.kind == "number":
            self.advance()
            self.out.append(token.value)
        elif token.kind == "punct" and token.value in "+-" and self.peek().kind == "number":
            self.advance()
            number = self.advance()
            self.out.append(token.value + number.value)
        elif self.is_word("TRUE", "FALSE"):
            self.advance()
            self.out.append(token.value.lower())
        else:
            raise self.fail("a literal")

    def is_literal(self) -> bool:
        token = self.token
        if token.kind in ("string", "number"):
            return True
        if token.kind == "punct" and token.value in ("+", "-"):
            return self.peek().kind == "number"
        return token.kind == "word" and token.value in ("TRUE", "FALSE")

    def var(self) -> str:
        token = self.token
        if token.kind != "var":
            raise self.fail("a variable")
        self.advance()
        self.out.append("?" + token.value)
        return token.value

    def var_or_iri(self) -> None:
        if self.token.kind == "var":
            self.var()
        else:
            self.iri()

    def blank_node(self) -> bool:
        token = self.token
        if token.kind == "bnode":
            self.advance()
            self.out.append("_:" + token.value)
            return True
        if token.kind == "anon":
            self.advance()
            self.out.append("[]")
            return True
        return False

    def graph_term(self, *, nil: bool = True, blank: bool = True) -> bool:
        """Read a variable, IRI, literal, blank node or NIL; return False if none is here."""
        token = self.token
        if token.kind == "var":
            self.var()
        elif token.kind in ("iri", "pname"):
            self.iri()
        elif self.is_literal():
            self.literal()
        elif blank and token.kind in ("bnode", "anon"):
            self.blank_node()
        elif nil and token.kind == "nil":
            self.advance()
            self.out.append("()")
        else:
            return False
        return True

    # the query

    def query(self) -> None:
        self.prologue()
        token = self.token
        if token.kind == "word" and token.value in UPDATE_WORDS:
            raise UpdateRefused(
                f"{token.extra[:SHOWN]} belongs to a SPARQL update; this endpoint is read-only."
            )
        if self.is_word("SELECT"):
            self.form = "SELECT"
            self.select_query(top=True)
        elif self.is_word("CONSTRUCT"):
            self.form = "CONSTRUCT"
            self.construct_query()
        elif self.is_word("DESCRIBE"):
            self.form = "DESCRIBE"
            self.describe_query()
        elif self.is_word("ASK"):
            self.form = "ASK"
            self.advance()
            self.out.append("ASK")
            self.dataset_clauses()
            self.where_clause()
            self.solution_modifier()
        elif self.is_word("DEFINE"):
            raise QueryRefused(
                "DEFINE is a pragma of one store, not SPARQL 1.1; it is not accepted here.",
                reason="extension",
            )
        else:
            raise self.fail("SELECT, CONSTRUCT, DESCRIBE or ASK")
        self.values_clause()
        if self.token.kind != "eof":
            raise self.fail("the end of the query")

    def prologue(self) -> None:
        while True:
            if self.is_word("BASE"):
                self.advance()
                token = self.token
                if token.kind != "iri":
                    raise self.fail("an IRI after BASE")
                self.advance()
                self.base = resolve_iri(token.value, self.base) if self.base else token.value
            elif self.is_word("PREFIX"):
                self.advance()
                name = self.token
                if name.kind != "pname" or name.extra:
                    raise self.fail("a prefix name ending with ':' after PREFIX")
                self.advance()
                iri = self.token
                if iri.kind != "iri":
                    raise self.fail("an IRI after the prefix name")
                self.advance()
                self.prefixes[name.value] = (
                    resolve_iri(iri.value, self.base) if self.base else iri.value
                )
            elif self.is_word("VERSION"):
                self.advance()
                token = self.token
                if token.kind != "string" or self.text.startswith(('"""', "'''"), token.start):
                    raise self.fail("a version string in single or double quotes after VERSION")
                self.advance()  # informational: not written, every store reads the same query
            else:
                return

    def select_clause(self) -> None:
        self.expect_word("SELECT")
        if self.is_word("DISTINCT", "REDUCED"):
            self.out.append(self.advance().value)
        if self.is_punct("*"):
            self.advance()
            self.out.append("*")
            return
        count = 0
        while True:
            if self.token.kind == "var":
                self.var()
            elif self.is_punct("("):
                self.bound_expression()
            else:
                break
            count += 1
        if count == 0:
            raise self.fail("'*', a variable or '(' expression AS ?variable ')'")

    def select_query(self, top: bool) -> None:
        self.select_clause()
        if top:
            self.dataset_clauses()
        self.where_clause()
        self.solution_modifier(top=top)

    def bound_expression(self, bind: bool = False) -> None:
        """Read ``( expression AS ?variable )``, noting a variable bound to a boolean, and of
        BIND (``bind``) one bound to an IRI."""
        self.open("(")
        following = self.peek()
        constant = self.is_iri() and following.kind == "word" and following.value == "AS"
        iri = self.iri_value(self.token) if constant else ""
        boolean = self.expression()
        self.expect_word("AS")
        name = self.var()
        if boolean:
            self.booleans.add(name)
        if bind and iri:
            self.groups[-1].constants[name] = iri
        self.close(")")

    def sub_select(self) -> None:
        self.select_query(top=False)
        self.values_clause()

    def construct_query(self) -> None:
        self.expect_word("CONSTRUCT")
        if self.is_punct("{"):
            self.open("{")
            self.template = True
            if not self.is_punct("}"):
                self.triples_template(path=False)
            self.template = False
            self.close("}")
            self.dataset_clauses()
            self.where_clause()
        else:
            self.dataset_clauses()
            self.expect_word("WHERE")
            self.open("{")
            if not self.is_punct("}"):
                self.triples_template(path=False)
            self.close("}")
        self.solution_modifier()

    def describe_query(self) -> None:
        self.expect_word("DESCRIBE")
        self.reaches_any()  # a description is every triple of a resource
        if self.is_punct("*"):
            self.advance()
            self.out.append("*")
        else:
            count = 0
            while self.token.kind in ("var", "iri", "pname"):
                self.var_or_iri()
                count += 1
            if count == 0:
                raise self.fail("'*', a variable or an IRI after DESCRIBE")
        self.dataset_clauses()
        if self.is_word("WHERE") or self.is_punct("{"):
            self.where_clause()
        self.solution_modifier()

    def dataset_clauses(self) -> None:
        while self.is_word("FROM"):
            self.advance()
            self.out.append("FROM")
            named = self.is_word("NAMED")
            if named:
                self.advance()
                self.out.append("NAMED")
            iri = self.iri()
            (self.from_named if named else self.from_graphs).append(iri)

    def where_clause(self) -> None:
        if self.is_word("WHERE"):
            self.advance()
        self.out.append("WHERE")
        self.group_graph_pattern()

    def solution_modifier(self, top: bool = False) -> None:
        start = len(self.out)
        if self.is_word("GROUP"):
            self.advance()
            self.out.append("GROUP")
            self.expect_word("BY")
            count = 0
            while True:
                if self.token.kind == "var":
                    self.var()
                elif self.is_punct("("):
                    self.open("(")
                    self.expression()
                    if self.is_word("AS"):
                        self.advance()
                        self.out.append("AS")
                        self.var()
                    self.close(")")
                elif self.starts_call():
                    self.call()
                else:
                    break
                count += 1
            if count == 0:
                raise self.fail("a grouping condition after GROUP BY")
        if self.is_word("HAVING"):
            self.advance()
            self.out.append("HAVING")
            self.constraint()
            while self.is_punct("(") or self.starts_call():
                self.constraint()
        order_start = len(self.out)
        keys: list[OrderKey] | None = []
        if self.is_word("ORDER"):
            self.advance()
            self.out.append("ORDER")
            self.expect_word("BY")
            count = 0
            while True:
                if self.is_word("ASC", "DESC"):
                    direction = self.advance().value
                    self.out.append(direction)
                    self.open("(")
                    simple = self.token.kind == "var" and self.peek().value == ")"
                    name = self.token.value
                    self.expression()
                    self.close(")")
                    if keys is not None and simple:
                        keys.append(OrderKey(name, direction == "DESC"))
                    else:
                        keys = None
                elif self.token.kind == "var":
                    if keys is not None:
                        keys.append(OrderKey(self.token.value))
                    self.var()
                elif self.is_punct("(") or self.starts_call():
                    self.constraint()
                    keys = None
                else:
                    break
                count += 1
            if count == 0:
                raise self.fail("an ordering condition after ORDER BY")
        order_end = len(self.out)
        limit: int | None = None
        offset = 0
        for _ in range(2):
            if self.is_word("LIMIT") and limit is None:
                self.advance()
                self.out.append("LIMIT")
                limit = self.integer()
            elif self.is_word("OFFSET") and not offset:
                self.advance()
                self.out.append("OFFSET")
                offset = self.integer()
        if top:
            self.modifier_start = start
            self.order_keys = keys if order_end > order_start else None
            self.order_span = (order_start, len(self.out))
            self.limit, self.offset = limit, offset

    def integer(self) -> int:
        token = self.token
        if token.kind != "number" or not token.value.isdigit():
            raise self.fail("an integer")
        self.advance()
        self.out.append(token.value)
        return int(token.value)

    def values_clause(self) -> None:
        if self.is_word("VALUES"):
            self.advance()
            self.out.append("VALUES")
            self.data_block()

    # graph patterns

    def group_graph_pattern(self, kind: str = "join") -> Group:
        """Read a group, a child of the one being read (``kind`` as Group says); return it."""
        self.open("{")
        group = Group("apart" if self.is_word("SELECT") else kind)
        self.groups[-1].children.append(group)
        self.groups.append(group)
        if self.is_word("SELECT"):
            self.sub_select()
        else:
            self.group_graph_pattern_sub()
        self.groups.pop()
        self.close("}")
        return group

    def group_graph_pattern_sub(self) -> None:
        need_dot = False
        while True:
            token = self.token
            if token.kind == "punct" and token.value == "}":
                return
            if (token.kind == "word" and token.value in GRAPH_PATTERN_WORDS) or (
                token.kind == "punct" and token.value == "{"
            ):
                self.graph_pattern_not_triples()
                if self.is_punct("."):
                    self.advance()
                    self.out.append(".")
                need_dot = False
                continue
            if need_dot:
                raise self.fail("'.', '}' or a graph pattern")
            self.triples_same_subject(path=True)
            if self.is_punct("."):
                self.advance()
                self.out.append(".")
                need_dot = False
            else:
                need_dot = True

    def triples_template(self, path: bool) -> None:
        """Read triples separated by '.' up to the closing '}'."""
        while True:
            self.triples_same_subject(path=path)
            if not self.is_punct("."):
                return
            self.advance()
            self.out.append(".")
            if self.is_punct("}"):
                return

    def graph_pattern_not_triples(self) -> None:
        token = self.token
        if token.kind == "punct":  # '{'
            branches = [self.group_graph_pattern()]
            while self.is_word("UNION"):
                self.advance()
                self.out.append("UNION")
                branches.append(self.group_graph_pattern())
            if len(branches) > 1:
                children = self.groups[-1].children
                del children[-len(branches) :]
                children.append(branches)
            return
        word = token.value
        if word == "SERVICE" and self.check:
            line, column = _place(self.text, token.start)
            raise QueryRefused(
                f"SERVICE at line {line}, column {column} is refused: this endpoint does not "
                "query other endpoints on a client's behalf. Send the query to the other "
                "endpoint yourself.",
                reason="service",
            )
        self.advance()
        self.out.append(word)
        if word in ("OPTIONAL", "MINUS", "LATERAL"):
            self.group_graph_pattern("apart")
        elif word in ("GRAPH", "SERVICE"):
            if word == "SERVICE" and self.is_word("SILENT"):
                self.out.append(self.advance().value)
            self.var_or_iri()
            # A group with a triple pattern of its own has no solution in a graph without a
            # triple it can match; any other lists every graph (GRAPH ?g { }).
            group = self.group_graph_pattern("join" if word == "GRAPH" else "apart")
            if word == "GRAPH" and not group.patterns:
                self.reaches_any()
        elif word == "FILTER":
            self.filtering = True
            self.constraint()
            self.filtering = False
        elif word == "BIND":
            self.bound_expression(bind=True)
        else:  # VALUES
            self.groups[-1].bind_values(self.data_block())

    def data_block(self) -> dict[str, frozenset[str] | None]:
        """Read a VALUES block; return each of its variables with the IRIs it binds it to,
        None when it binds it to another term too (a literal, UNDEF, a triple term)."""
        if self.token.kind == "var":
            name = self.var()
            self.open("{")
            column = []
            while not self.is_punct("}"):
                column.append(self.data_block_value())
            self.close("}")
            return {name: _iris(column)}
        names: list[str] = []
        if self.token.kind == "nil":
            self.advance()
            self.out.append("()")
        else:
            self.open("(")
            while self.token.kind == "var":
                names.append(self.var())
            self.close(")")
        columns: list[list[str | None]] = [[] for _ in names]
        self.open("{")
        while not self.is_punct("}"):
            if self.token.kind == "nil":
                self.advance()
                self.out.append("()")
                columns = [[*column, None] for column in columns]  # a row of no value
                continue
            self.open("(")
            row = []
            while not self.is_punct(")"):
                row.append(self.data_block_value())
            self.close(")")
            if len(row) != len(names):
                row = [None] * len(names)
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        self.close("}")
        return {name: _iris(column) for name, column in zip(names, columns, strict=True)}

    def data_block_value(self) -> str | None:
        """Read a value of VALUES; return it when an IRI."""
        if self.is_word("UNDEF"):
            self.advance()
            self.out.append("UNDEF")
        elif self.is_punct("<<("):
            self.triple_term(data=True)
        elif self.is_iri():
            return self.iri()
        elif self.is_literal():
            self.literal()
        else:
            raise self.fail("a value, UNDEF or '}'")
        return None

    # triples

    def triples_same_subject(self, path: bool) -> None:
        token = self.token
        if token.kind == "punct" and token.value == "<<":
            self.reified_triple()
            self.property_list(path, required=False)
        elif token.kind == "punct" and token.value in ("(", "["):
            self.triples_node(path)
            self.property_list(path, required=False)
        elif token.kind == "punct" and token.value == "<<(":
            self.triple_term()
            self.property_list(path, required=True)
        else:
            subject = self.term_shape()
            if not self.graph_term():
                raise self.fail("a triple pattern")
            self.property_list(path, required=True, subject=subject)

    def property_list(self, path: bool, required: bool, subject: str = "") -> None:
        """Read predicates and objects of ``subject`` (as :meth:`term_shape` says)."""
        if not self.starts_verb(path):
            if required:
                raise self.fail("a predicate")
            return
        while True:
            predicate = self.verb(path)
            self.object_list(path, subject, predicate)
            if not self.is_punct(";"):
                return
            while self.is_punct(";"):
                self.advance()
                self.out.append(";")
            if not self.starts_verb(path):
                return

    def starts_verb(self, path: bool) -> bool:
        token = self.token
        if token.kind in ("var", "iri", "pname"):
            return True
        if token.kind == "word" and token.extra == "a":
            return True
        return path and token.kind == "punct" and token.value in ("^", "!", "(")

    def verb(self, path: bool) -> str | None:
        """Read a predicate or a path; return the predicate's IRI, a Variable, or None for a
        path (its IRIs in verb_iris, whether it may be empty in verb_empty)."""
        token = self.token
        start = len(self.out)
        self.verb_iris, self.verb_any, self.verb_empty = [], False, False
        if token.kind == "var":
            return Variable(self.var())
        if path:
            self.path_alternative()
        elif token.kind == "word" and token.extra == "a":
            self.advance()
            self.out.append("a")
            self.verb_iris.append(RDF_TYPE)
        else:
            self.verb_iris.append(self.iri())
        if self.verb_any:
            self.reaches_any()
            return None
        if len(self.verb_iris) == 1 and self.out[start:] in (["a"], [f"<{self.verb_iris[0]}>"]):
            return self.verb_iris[0]  # one predicate, not a path of it (a+, ^a)
        return None

    def path_alternative(self) -> None:
        while True:
            self.path_sequence()
            if not self.is_punct("|"):
                return
            self.advance()
            self.out.append("|")

    def path_sequence(self) -> None:
        while True:
            if self.is_punct("^"):
                self.advance()
                self.out.append("^")
            self.path_primary()
            if self.is_punct("?", "*", "+"):
                modifier = self.advance().value
                self.attach(modifier)
                if modifier != "+":  # a path of length zero matches every node
                    self.verb_empty = True
            if not self.is_punct("/"):
                return
            self.advance()
            self.out.append("/")

    def path_primary(self) -> None:
        token = self.token
        if token.kind == "word" and token.extra == "a":
            self.advance()
            self.out.append("a")
            self.verb_iris.append(RDF_TYPE)
        elif token.kind in ("iri", "pname"):
            self.verb_iris.append(self.iri())
        elif self.is_punct("!"):
            self.advance()
            self.out.append("!")
            self.verb_any = True
            if self.token.kind == "nil":
                self.advance()
                self.out.append("()")
            elif self.is_punct("("):
                self.open("(")
                while True:
                    self.path_one_in_property_set()
                    if not self.is_punct("|"):
                        break
                    self.advance()
                    self.out.append("|")
                self.close(")")
            else:
                self.path_one_in_property_set()
        elif self.is_punct("("):
            self.open("(")
            self.path_alternative()
            self.close(")")
        else:
            raise self.fail("a property path")

    def path_one_in_property_set(self) -> None:
        if self.is_punct("^"):
            self.advance()
            self.out.append("^")
        token = self.token
        if token.kind == "word" and token.extra == "a":
            self.advance()
            self.out.append("a")
        else:
            self.iri()

    def object_list(self, path: bool, subject: str = "", predicate: str | None = None) -> None:
        """Read objects, noting the triples of ``subject`` and ``predicate`` each can match;
        of a path (``predicate`` None), those of its IRIs."""
        iris, empty = self.verb_iris, self.verb_empty  # a nested list's verb makes new ones
        while True:
            object_ = self.term_shape()
            if predicate is not None:
                self.reaches(Pattern([(subject, predicate, object_)]))
            elif iris:
                ends = (subject, object_)
                named = any(end and not isinstance(end, Variable) for end in ends)
                shapes = [("", iri, "") for iri in iris]
                if empty and not named:
                    self.reaches_any()  # a path of length zero matches every node
                elif empty:  # and an IRI at an end, when a triple of the graph names it
                    for end in ends:
                        if end and not isinstance(end, Variable):
                            shapes += [(end, "", ""), ("", end, ""), ("", "", end)]
                    self.reaches(Pattern(shapes, ()))
                else:
                    binds = tuple(end for end in ends if isinstance(end, Variable))
                    self.reaches(Pattern(shapes, binds))
            self.graph_node(path)
            self.annotation(path)
            if not self.is_punct(","):
                return
            self.advance()
            self.out.append(",")

    def graph_node(self, path: bool) -> None:
        token = self.token
        if token.kind == "punct" and token.value in ("(", "["):
            self.triples_node(path)
        elif token.kind == "punct" and token.value == "<<":
            self.reified_triple()
        elif token.kind == "punct" and token.value == "<<(":
            self.triple_term()
        elif not self.graph_term():
            raise self.fail("an object")

    def triples_node(self, path: bool) -> None:
        if self.is_punct("("):
            self.reaches_any()  # a collection's rdf:first and rdf:rest
            self.open("(")
            self.graph_node(path)
            while not self.is_punct(")"):
                self.graph_node(path)
            self.close(")")
        else:
            self.open("[")
            self.property_list(path, required=True)
            self.close("]")

    def annotation(self, path: bool) -> None:
        while True:
            if self.is_punct("~", "{|"):
                self.reaches_any()  # a reifying triple
            if self.is_punct("~"):
                self.reifier()
            elif self.is_punct("{|"):
                self.open("{|")
                self.property_list(path, required=True)
                self.close("|}")
            else:
                return

    def reifier(self) -> None:
        self.expect_punct("~")
        token = self.token
        if token.kind == "var":
            self.var()
        elif token.kind in ("iri", "pname"):
            self.iri()
        else:
            self.blank_node()

    def reified_triple(self) -> None:
        self.reaches_any()
        self.open("<<")
        self.reified_node()
        self.verb(path=False)
        self.reified_node()
        if self.is_punct("~"):
            self.reifier()
        self.close(">>")

    def reified_node(self) -> None:
        if self.is_punct("<<"):
            self.reified_triple()
        elif self.is_punct("<<("):
            self.triple_term()
        elif not self.graph_term(nil=False):
            raise self.fail("a term of a reified triple")

    def triple_term(self, data: bool = False, expression: bool = False) -> None:
        if not (data or expression):
            self.reaches_any()
        self.open("<<(")
        for position in ("subject", "predicate", "object"):
            if position == "predicate":
                self.verb(path=False)
                continue
            if expression and position == "subject" and (self.is_punct("<<(") or self.is_literal()):
                raise self.fail("an IRI, a variable or a blank node as a triple term's subject")
            if self.is_punct("<<("):
                self.triple_term(data, expression)
            elif data and self.token.kind == "var":
                raise self.fail("a constant in a triple term of VALUES")
            elif not self.graph_term(nil=False, blank=not (data or expression)):
                raise self.fail(f"the {position} of a triple term")
        self.close(")>>")

    # expressions

    def constraint(self) -> None:
        if self.is_punct("("):
            self.open("(")
            self.expression()
            self.close(")")
        elif self.starts_call():
            self.call()
        else:
            raise self.fail("'(' or a function call")

    def starts_call(self) -> bool:
        token = self.token
        if token.kind == "word":
            return (
                token.value in BUILT_INS
                or token.value in AGGREGATES
                or token.value
                in (
                    "EXISTS",
                    "NOT",
                )
            )
        return token.kind in ("iri", "pname")

    def expression(self) -> bool:
        """Read an expression; return whether its value is a boolean (as far as can be told).

        Operators are read in one loop: the tokens are written in the order read and the
        engine that evaluates the canonical text applies their precedence. The value is a
        boolean when the loosest operator is a logical or relational one, or, with none, when
        the one operand is.
        """
        loosest = 9
        boolean = self.unary()
        while True:
            token = self.token
            if token.kind == "punct" and token.value in BINARY:
                following = self.peek()
                self.advance()
                if (
                    token.value in "+-"
                    and following.kind == "number"
                    and (following.start == token.end)
                ):
                    # A signed number after an operand: the grammar's additive case.
                    self.advance()
                    self.out.append(token.value + following.value)
                    loosest = min(loosest, 4)
                    continue
                self.out.append(token.value)
                loosest = min(loosest, OPERATOR_LEVELS[token.value])
                self.unary()
                continue
            if token.kind == "word" and (
                token.value == "IN" or (token.value == "NOT" and self.peek().value == "IN")
            ):
                if token.value == "NOT":
                    self.advance()
                    self.out.append("NOT")
                self.advance()
                self.out.append("IN")
                self.expression_list()
                loosest = min(loosest, 3)
                continue
            return boolean if loosest == 9 else loosest <= 3

    def expression_list(self) -> None:
        if self.token.kind == "nil":
            self.advance()
            self.out.append("()")
            return
        self.open("(")
        self.expression()
        while self.is_punct(","):
            self.advance()
            self.out.append(",")
            self.expression()
        self.close(")")

    def unary(self) -> bool:
        negated = False
        while self.is_punct("!"):
            self.advance()
            self.out.append("!")
            negated = True
        if self.is_punct("+", "-"):
            sign = self.advance()
            number = self.token
            if number.kind == "number" and number.start == sign.end:
                self.advance()
                self.out.append(sign.value + number.value)
                return negated
            self.out.append(sign.value)
        return self.primary() or negated

    def primary(self) -> bool:
        token = self.token
        kind = token.kind
        if kind == "punct":
            if token.value == "(":
                self.open("(")
                boolean = self.expression()
                self.close(")")
                return boolean
            if token.value == "<<(":
                self.triple_term(expression=True)
                return False
        elif kind == "var":
            self.var()
            return False
        elif kind in ("string", "number"):
            self.literal()
            return False
        elif kind == "word":
            if token.value in ("TRUE", "FALSE"):
                self.literal()
                return True
            if self.starts_call():
                return self.call()
        elif kind in ("iri", "pname"):
            return self.call()
        raise self.fail("an expression")

    def call(self) -> bool:
        """Read a built-in call, an aggregate, EXISTS, or an IRI with or without arguments."""
        token = self.token
        if token.kind in ("iri", "pname"):
            self.advance()
            iri = self.iri_value(token)
            if not (self.token.kind == "nil" or self.is_punct("(")):
                self.write_iri(iri)  # a plain IRI in an expression
                return False
            if self.check and iri not in XSD_CASTS:
                line, column = _place(self.text, token.start)
                shown = self.text[token.start : token.end][:SHOWN]
                raise QueryRefused(
                    f"{shown} at line {line}, column {column} calls a function that is not "
                    "part of SPARQL; only the standard functions and XSD casts are evaluated "
                    "here.",
                    reason="function",
                )
            self.write_iri(iri)
            self.arguments(aggregate=False)
            return iri == XSD + "boolean"
        name = token.value
        if name == "NOT":
            self.advance()
            self.out.append("NOT")
            if not self.is_word("EXISTS"):
                raise self.fail("EXISTS after NOT")
            name = "EXISTS"
        if name == "EXISTS":
            self.advance()
            self.out.append("EXISTS")
            # Of a FILTER, given the group's solutions; of a BIND or a projection, perhaps
            # before the group's other patterns bind anything (Group's "apart").
            filtering, self.filtering = self.filtering, False
            self.group_graph_pattern("exists" if filtering else "apart")
            self.filtering = filtering
            return True
        self.advance()
        self.out.append(name)
        if name in AGGREGATES:
            if self.in_aggregate:
                raise syntax_error(self.text, token.start, f"{name} inside an aggregate")
            self.in_aggregate = True
            self.arguments(aggregate=True, name=name)
            self.in_aggregate = False
        else:
            self.arguments(aggregate=False, name=name)
        return name in BOOLEAN_BUILT_INS

    def arguments(self, aggregate: bool, name: str = "") -> None:
        if self.token.kind == "nil":
            self.advance()
            self.attach("()")
            return
        self.open("(")
        self.attach_last_open()
        if aggregate and self.is_word("DISTINCT"):
            self.advance()
            self.out.append("DISTINCT")
        if name == "COUNT" and self.is_punct("*"):
            self.advance()
            self.out.append("*")
        else:
            self.expression()
            while self.is_punct(","):
                self.advance()
                self.out.append(",")
                self.expression()
        if name == "GROUP_CONCAT" and self.is_punct(";"):
            self.advance()
            self.out.append(";")
            self.expect_word("SEPARATOR")
            self.expect_punct("=")
            token = self.token
            if token.kind != "string":
                raise self.fail("a string after SEPARATOR =")
            self.advance()
            self.out.append(write_string(token.value))
        self.close(")")

    def attach_last_open(self) -> None:
        """Join the '(' just written to the function name before it: ``STR(``."""
        opening = self.out.pop()
        self.out[-1] += opening

    # the result

    def result(self) -> ParsedQuery:
        # IRI() and URI() resolve a relative IRI against the query's base: the base is kept.
        declared = [f"BASE <{self.base}>"] if self.base else []
        text = " ".join(declared + self.out)
        unordered = None
        keys = tuple(self.order_keys or ())
        if self.form == "SELECT" and keys and self.order_span is not None:
            start, end = self.order_span
            unordered = " ".join(declared + self.out[:start] + self.out[end:])
        return ParsedQuery(
            text=text,
            form=self.form,
            from_graphs=tuple(dict.fromkeys(self.from_graphs)),
            from_named_graphs=tuple(dict.fromkeys(self.from_named)),
            boolean_variables=frozenset(self.booleans),
            order_keys=keys,
            limit=self.limit,
            offset=self.offset,
            unordered=unordered,
            iris=frozenset(self.iris),
            patterns=None if self.any_triple else self.groups[0],
        )


def _iris(values: list[str | None]) -> frozenset[str] | None:
    return None if None in values else frozenset(values)  # type: ignore[arg-type]


def parse_query(text: str, check: bool = True, base: str = "") -> ParsedQuery:
    """Read a SPARQL query, refuse what the endpoint does not do, and return its canonical text.

    Raises QuerySyntaxError (with line and column), QueryRefused (SERVICE, a function that is
    not SPARQL's or an XSD cast, nesting deeper than MAX_DEPTH) or UpdateRefused.

    :param check: refuse SERVICE and extension functions; False reads the service's own
        queries, which are trusted, for their form and variables only.
    :param base: the IRI relative IRIs resolve against when the query declares no BASE (the
        protocol lets it be the endpoint's URL).
    """
    parser = _Parser(text, check, base)
    parser.query()
    return parser.result()


def canonical(text: str) -> str:
    """Return the canonical text of a query (what stores are sent)."""
    return parse_query(text).text
