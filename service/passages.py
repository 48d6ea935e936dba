"""Anchor passages in their source text: from a quote, the prefix, suffix and offsets.

A curator writes only the words a passage quotes (``oa:exact``); :func:`anchor_text` finds them
in the source text and adds the ``oa:TextQuoteSelector``'s prefix and suffix and an
``oa:TextPositionSelector`` with the offsets (Unicode code points, end exclusive). The
Turtle file is edited where the passage is written, not serialized again, so its prefixes,
comments and order stay as the curator wrote them; a second run finds nothing to add.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pyoxigraph as ox

from service import dataset, resources
from service.namespaces import DCTERMS, OA, RDF, SOURCE_BASE, XSD, ZI
from service.terms import Term, term_value

CONTEXT = 32  # the most characters a prefix or suffix holds, as in graph_data/
RDF_TYPE = ox.NamedNode(str(RDF.type))


class AnchorError(Exception):
    """A passage cannot be anchored: its quote is missing from the text, or ambiguous."""


@dataclass
class Passage:
    """A passage of a Turtle file and what it already says about where its quote is."""

    iri: str
    quote: str  # the quote selector's IRI
    exact: str
    prefix: str | None
    suffix: str | None
    position: str | None  # the position selector's IRI, if it has one
    start: int | None
    end: int | None
    source_file: str | None  # the dct:hasFormat IRI of the passage's source document


def _one(store: ox.Store, subject: str, predicate: str) -> Term | None:
    for quad in store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None):
        return quad.object
    return None


def passages(turtle: str, base_iri: str) -> list[Passage]:
    """Return the passages of a Turtle document and what each says about its quote."""
    store = ox.Store()
    try:
        store.load(turtle, format=ox.RdfFormat.TURTLE, base_iri=base_iri)
    except SyntaxError as error:
        raise AnchorError(f"line {error.lineno}: {error.msg}") from error
    found = []
    passage_type = ox.NamedNode(str(ZI.Passage))
    for quad in store.quads_for_pattern(None, RDF_TYPE, passage_type):
        passage = quad.subject
        quote = position = None
        for selector in store.quads_for_pattern(passage, ox.NamedNode(str(OA.hasSelector)), None):
            if isinstance(selector.object, ox.Literal):  # not a selector: no quote from it
                continue
            kinds = {
                term_value(q.object)
                for q in store.quads_for_pattern(selector.object, RDF_TYPE, None)
            }
            if str(OA.TextQuoteSelector) in kinds:
                quote = selector.object
            if str(OA.TextPositionSelector) in kinds:
                position = selector.object
        if not isinstance(quote, ox.NamedNode):
            raise AnchorError(
                f"{term_value(passage)}: give the passage a quote selector with an IRI "
                "(oa:hasSelector <…/quote>, as `zigraph new-source` writes it)"
            )
        exact = _one(store, quote.value, str(OA.exact))
        if exact is None:
            raise AnchorError(f"{term_value(passage)}: its quote selector has no oa:exact")
        prefix = _one(store, quote.value, str(OA.prefix))
        suffix = _one(store, quote.value, str(OA.suffix))
        start = end = None
        if position is not None:
            start = _one(store, term_value(position), str(OA.start))
            end = _one(store, term_value(position), str(OA.end))
        document = _one(store, term_value(passage), str(OA.hasSource))
        text_file = _one(store, term_value(document), str(DCTERMS.hasFormat)) if document else None
        found.append(
            Passage(
                iri=term_value(passage),
                quote=quote.value,
                exact=term_value(exact),
                prefix=term_value(prefix) if prefix is not None else None,
                suffix=term_value(suffix) if suffix is not None else None,
                position=term_value(position) if position is not None else None,
                start=int(term_value(start)) if start is not None else None,
                end=int(term_value(end)) if end is not None else None,
                source_file=term_value(text_file) if text_file is not None else None,
            )
        )
    return found


def source_text_path(turtle_path: Path, file_iri: str) -> Path:
    """Return the text file a source document names: beside the data, else the shipped one.

    ``…/source/x.txt`` is looked for as ``sources/x.txt`` in the Turtle file's folder and the
    folders above it (``articles/x.ttl`` next to ``sources/x.txt``), then in the shipped data.
    """
    name = file_iri.rsplit("/", 1)[-1]
    if not file_iri.startswith(SOURCE_BASE) or not name:
        raise AnchorError(f"the source text {file_iri} is not under {SOURCE_BASE}; use --source")
    folder = turtle_path.resolve().parent
    candidates = [p / dataset.SOURCE_TEXTS / name for p in (folder, *folder.parents)][:3]
    candidates.append(resources.folder("graph_data") / dataset.SOURCE_TEXTS / name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise AnchorError(f"no text file {name} in {', '.join(str(c.parent) for c in candidates)}")


def locate(passage: Passage, text: str) -> int:
    """Return where the passage's quote starts in the text, or raise naming the problem."""
    starts = [m.start() for m in re.finditer(re.escape(passage.exact), text)]
    if passage.prefix is not None:
        starts = [s for s in starts if text[:s].endswith(passage.prefix)]
    if passage.suffix is not None:
        starts = [s for s in starts if text[s + len(passage.exact) :].startswith(passage.suffix)]
    if len(starts) == 1:
        return starts[0]
    if not starts:
        raise AnchorError(
            f"{passage.iri}: the quote is not in the source text; nearest match: "
            f"{nearest(passage.exact, text)!r}"
        )
    raise AnchorError(
        f"{passage.iri}: the quote occurs {len(starts)} times (at {', '.join(map(str, starts))}); "
        "give an oa:prefix or oa:suffix that tells them apart"
    )


def nearest(quote: str, text: str) -> str:
    """Return the stretch of the text, as long as the quote, most like it."""
    if not text:
        return ""
    size = len(quote)
    step = max(1, size // 8)
    windows = [text[i : i + size] for i in range(0, max(1, len(text) - size + 1), step)]

    def likeness(window: str, quick: bool = False) -> float:
        matcher = difflib.SequenceMatcher(None, quote, window, autojunk=False)
        return matcher.quick_ratio() if quick else matcher.ratio()

    candidates = sorted(windows, key=lambda w: likeness(w, quick=True), reverse=True)[:10]
    return max(candidates, key=likeness)


def offset_datatype() -> str | None:
    """Return the datatype the shipped shapes ask of oa:start, or None when they ask none."""
    from rdflib import Graph
    from rdflib.namespace import SH

    shapes = Graph()
    for source in dataset.shipped_files():
        if source.role == "shapes":
            shapes.parse(source.path)
    for shape in shapes.subjects(SH.path, OA.start):
        datatype = shapes.value(shape, SH.datatype)
        if datatype is not None:
            return str(datatype)
    return None


def turtle_string(value: str) -> str:
    """Return a Turtle string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


# --- editing the Turtle text ------------------------------------------------------------------

_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'  # long strings
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^>\s]*>"
    r"|#[^\n]*"
    r"|[^\s\"'<#]+"
)


def _tokens(text: str) -> list[tuple[int, int, str]]:
    """Return (start, end, token) for the Turtle tokens of a text, strings and IRIs whole,
    comments left out."""
    return [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text) if m.group()[0] != "#"]


@dataclass
class WrittenTerm:
    """An IRI as written in the file: where, how, and whether it starts a statement."""

    start: int
    end: int
    written: str
    iri: str
    is_subject: bool


def _written_terms(text: str, prefixes: dict[str, str], base: str) -> list[WrittenTerm]:
    """Return every IRI or prefixed name written in the text, in order."""
    terms = []
    previous = "."
    for start, _, token in _tokens(text):
        written = token if token.startswith(("<", '"', "'")) else token.rstrip(";,.")
        iri = _expand(written, prefixes, base)
        if iri is not None:
            is_subject = previous.endswith(".") and not previous.startswith(('"', "'"))
            terms.append(WrittenTerm(start, start + len(written), written, iri, is_subject))
        previous = token
    return terms


def _expand(token: str, prefixes: dict[str, str], base: str) -> str | None:
    if token.startswith("<") and token.endswith(">"):
        return urljoin(base, token[1:-1])  # a relative IRI counts from the file
    if ":" not in token or token.startswith(("@", '"', "'", "_:")):
        return None
    prefix, local = token.split(":", 1)
    if prefix not in prefixes:
        return None
    return prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)


def _prefixes(text: str) -> dict[str, str]:
    found = {}
    for match in re.finditer(r"@prefix\s+([\w.-]*):\s*<([^>]*)>\s*\.", text, re.IGNORECASE):
        found[match.group(1)] = match.group(2)
    for match in re.finditer(r"^\s*PREFIX\s+([\w.-]*):\s*<([^>]*)>", text, re.M | re.I):
        found[match.group(1)] = match.group(2)
    return found


def _written_like(iri: str, model: WrittenTerm) -> str:
    """Return how to write ``iri`` in the style the model term is written."""
    if model.written.startswith("<"):
        return f"<{iri}>"
    prefix, local = model.written.split(":", 1)
    namespace = model.iri[: len(model.iri) - len(re.sub(r"\\(.)", r"\1", local))]
    if not iri.startswith(namespace):
        return f"<{iri}>"
    return f"{prefix}:" + re.sub(r"([/~.!$&'()*+,;=?#@%-])", r"\\\1", iri[len(namespace) :])


def _statement_end(text: str, after: int) -> int:
    """Return the index of the '.' that ends the statement going on at ``after``."""
    depth = 0
    for start, _, token in _tokens(text[after:]):
        if token.startswith(('"', "'", "<")):
            continue
        for offset, char in enumerate(token):
            if char in "[(":
                depth += 1
            elif char in "])":
                depth -= 1
            elif char == "." and depth <= 0:
                position = after + start + offset
                following = text[position + 1 : position + 2]
                if not following or following.isspace():
                    return position
    raise AnchorError("a statement in the file does not end with '.'")


def _exact_end(turtle: str, subject: WrittenTerm, passage: Passage) -> int:
    """Return where the oa:exact literal ends in the quote selector's statement."""
    statement_end = _statement_end(turtle, subject.end)
    tokens = _tokens(turtle[subject.end : statement_end])
    for index, (_, _, token) in enumerate(tokens[:-1]):
        if token.rstrip(";,") in ("oa:exact", f"<{OA.exact}>"):
            start, end, literal = tokens[index + 1]
            if literal.startswith(('"', "'")):
                end = subject.end + end
                tail = re.match(r"(@[A-Za-z0-9-]+|\^\^[^\s;,.]+(?:\.[^\s;,.]+)*)", turtle[end:])
                return end + len(tail.group(1)) if tail else end
    raise AnchorError(f'{passage.iri}: write its oa:exact as oa:exact "…" in its quote selector')


def anchor_text(
    turtle: str, text_for, base_iri: str, integer_type: str | None = None
) -> tuple[str, int]:
    """Return the Turtle text with every passage anchored in its source text, and how many
    passages were anchored now.

    :param text_for: returns the source text of a passage.
    :param integer_type: the datatype IRI the shapes ask offsets to have; None or
        xsd:integer writes them as plain integers.
    """
    prefixes = _prefixes(turtle)
    oa = "oa:{}" if prefixes.get("oa") == str(OA) else f"<{OA}{{}}>"
    terms = _written_terms(turtle, prefixes, base_iri)
    edits: list[tuple[int, str]] = []  # (position, text to insert), applied from the end
    anchored = 0
    for passage in passages(turtle, base_iri):
        text = text_for(passage)
        if passage.position is not None:
            if passage.start is None or passage.end is None:
                raise AnchorError(f"{passage.iri}: its position selector lacks oa:start or oa:end")
            if text[passage.start : passage.end] != passage.exact:
                raise AnchorError(
                    f"{passage.iri}: the quote is not at its offsets {passage.start}-"
                    f"{passage.end}; remove its position selector to anchor it again"
                )
            if passage.prefix is not None and passage.suffix is not None:
                continue  # anchored already
        start = locate(passage, text)
        end = start + len(passage.exact)
        anchored += 1
        subjects = [t for t in terms if t.iri == passage.quote and t.is_subject]
        references = [t for t in terms if t.iri == passage.quote and not t.is_subject]
        if len(subjects) != 1 or not references:
            raise AnchorError(
                f"{passage.iri}: write its quote selector once as a subject, "
                "and name it in the passage's oa:hasSelector"
            )
        additions = ""
        if passage.prefix is None:
            context = turtle_string(text[max(0, start - CONTEXT) : start])
            additions += f" ;\n    {oa.format('prefix')} {context}"
        if passage.suffix is None:
            additions += f" ;\n    {oa.format('suffix')} {turtle_string(text[end : end + CONTEXT])}"
        if additions:
            edits.append((_exact_end(turtle, subjects[0], passage), additions))
        if passage.position is None:
            position_iri = re.sub(r"quote$", "position", passage.quote)
            if position_iri == passage.quote:
                position_iri += "-position"
            position = _written_like(position_iri, subjects[0])
            edits.append((references[0].end, f", {position}"))
            block = (
                f"\n\n{position} a {oa.format('TextPositionSelector')} ;\n"
                f"    {oa.format('start')} {_integer(start, integer_type, prefixes)} ;\n"
                f"    {oa.format('end')} {_integer(end, integer_type, prefixes)} ."
            )
            edits.append((_statement_end(turtle, subjects[0].end) + 1, block))
    for at, insertion in sorted(edits, key=lambda e: e[0], reverse=True):
        turtle = turtle[:at] + insertion + turtle[at:]
    return turtle, anchored


def _integer(value: int, datatype: str | None, prefixes: dict[str, str]) -> str:
    if datatype is None or datatype == str(XSD.integer):
        return str(value)
    if prefixes.get("xsd") == str(XSD) and datatype.startswith(str(XSD)):
        return f'"{value}"^^xsd:{datatype[len(str(XSD)) :]}'
    return f'"{value}"^^<{datatype}>'
