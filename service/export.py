"""Serialize triples and the whole dataset, deterministically, in every RDF format offered.

A whole dataset is written by :func:`write_dataset` with bounded memory: every quad becomes
one line of text whose order is the output's order, the lines are sorted on disk
(:class:`~service.external_sort.ExternalSort`) and the sorted lines are written out, through
pyoxigraph's serializers for Turtle, TriG and RDF/XML (which accept a stream) or as they are.
Only the quads that hold blank nodes are kept in memory, to be named by RDFC-1.0.
"""

from __future__ import annotations

import io
import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

import pyoxigraph as ox

from service.dataset import has_blank_node, name_blank_nodes, progress_bar
from service.external_sort import ExternalSort
from service.namespaces import PREFIXES, RDF, XSD, compact
from service.terms import Term

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

RDF_TYPE = str(RDF.type)
XSD_STRING = str(XSD.string)
RDF_LANG_STRING = str(RDF.langString)


@dataclass(frozen=True)
class RdfSerialization:
    """One RDF format: its short name, media type, file extension and whether it holds graphs."""

    name: str
    media_type: str
    extension: str
    holds_graphs: bool
    oxigraph_format: ox.RdfFormat | None  # None: written by this module (JSON-LD)


FORMATS: dict[str, RdfSerialization] = {
    f.name: f
    for f in (
        RdfSerialization("ttl", "text/turtle", "ttl", False, ox.RdfFormat.TURTLE),
        RdfSerialization("jsonld", "application/ld+json", "jsonld", True, None),
        RdfSerialization("nt", "application/n-triples", "nt", False, ox.RdfFormat.N_TRIPLES),
        RdfSerialization("nq", "application/n-quads", "nq", True, ox.RdfFormat.N_QUADS),
        RdfSerialization("trig", "application/trig", "trig", True, ox.RdfFormat.TRIG),
        RdfSerialization("xml", "application/rdf+xml", "rdf", False, ox.RdfFormat.RDF_XML),
    )
}


def format_named(name: str) -> RdfSerialization:
    """Return the format with this short name, or raise ValueError listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(
            f"unknown RDF format {name!r}; choose one of {', '.join(FORMATS)}"
        ) from None


def serialize_triples(
    triples: Iterable[ox.Triple], fmt: RdfSerialization, prefixes: dict[str, str] | None = None
) -> bytes:
    """Serialize triples (one graph), sorted so that equal graphs give equal bytes.

    :param prefixes: the prefixes Turtle and RDF/XML bind (default: all of the project's).
    """
    ordered = sorted(set(triples), key=str)
    if fmt.oxigraph_format is None:
        return _jsonld({None: ordered})
    written = ox.serialize(ordered, format=fmt.oxigraph_format, prefixes=prefixes or PREFIXES)
    # pyoxigraph's stub says bytes | None: given no output, serialize returns the bytes.
    return written  # type: ignore[return-value]


def serialize_dataset(quads: Iterable[ox.Quad], fmt: RdfSerialization) -> bytes:
    """Serialize a dataset: named graphs where the format holds them, else their union."""
    output = io.BytesIO()
    write_dataset(quads, fmt, output)
    return output.getvalue()


def write_dataset(
    quads: Iterable[ox.Quad],
    fmt: RdfSerialization,
    output: IO[bytes],
    *,
    run_lines: int | None = None,
    progress: bool = False,
    blank_nodes_named: bool = False,
) -> int:
    """Write a dataset sorted, blank nodes named by RDFC-1.0; return the statements written.

    The same quads give the same bytes, whatever their order and however they are sorted.

    :param run_lines: lines sorted in memory at a time (the setting ``export_run_lines``).
    :param progress: show a bar of the writing on standard error, when it is a terminal.
    :param blank_nodes_named: the quads' blank nodes already have stable names (a remote
        store's dump names them graph by graph), so none is held here to be named.
    """
    line_of, write = _WRITERS[fmt.name]
    with ExternalSort(run_lines) as lines:
        blank = []
        for quad in quads:
            if not blank_nodes_named and has_blank_node(quad):
                blank.append(quad)
            else:
                lines.add(line_of(quad))
        lines.extend(line_of(quad) for quad in name_blank_nodes(blank))
        del blank
        with progress_bar(lines.characters, "writing", shown=progress) as bar:
            counted = _Counted(lines, bar)
            write(counted, fmt, output)
        return counted.count


class _Counted:
    """The sorted lines, counted and shown on a progress bar as they are read."""

    def __init__(self, lines: Iterable[str], bar: ProgressBar) -> None:
        self.lines = lines
        self.bar = bar
        self.count = 0

    def batches(self, size: int = 4096) -> Iterator[list[str]]:
        lines = iter(self.lines)
        while batch := list(itertools.islice(lines, size)):
            self.count += len(batch)
            self.bar.update(sum(map(len, batch)))
            yield batch
        self.bar.update((self.bar.length or 0) - self.bar.pos)  # duplicates: counted, not written

    def __iter__(self) -> Iterator[str]:
        for batch in self.batches():
            yield from batch


# One line per quad, made so that sorting the lines sorts the output: N-Quads by graph, then
# by quad; N-Triples, Turtle and RDF/XML by triple (the graphs' union, each triple once).
# A tab parts a graph from its quad: no IRI or blank node label holds a tab, so a graph name
# that begins another one still sorts before it, as in the in-memory sort it replaces.


def _quad_line(quad: ox.Quad) -> str:
    return f"{quad.graph_name}\t{quad}"


def _triple_line(quad: ox.Quad) -> str:
    return str(quad.triple)


def _jsonld_line(quad: ox.Quad) -> str:
    graph = "" if isinstance(quad.graph_name, ox.DefaultGraph) else _term_id(quad.graph_name)
    return f"{graph}\t{_term_id(quad.subject)}\t{quad}"


def _statement(line: str) -> str:
    return line.rpartition("\t")[2]


def _write_lines(lines: _Counted, fmt: RdfSerialization, output: IO[bytes]) -> None:
    for batch in lines.batches():
        output.write("".join(f"{_statement(line)} .\n" for line in batch).encode())


def _write_parsed(lines: _Counted, fmt: RdfSerialization, output: IO[bytes]) -> None:
    statements = ox.RdfFormat.N_QUADS if fmt.holds_graphs else ox.RdfFormat.N_TRIPLES
    # pyoxigraph reads any binary file object; typeshed's RawIOBase is no typing.IO[bytes].
    quads = ox.parse(_LineReader(lines), format=statements)  # type: ignore[arg-type]
    parsed: Iterable[ox.Quad] | Iterable[ox.Triple] = (
        quads if fmt.holds_graphs else (quad.triple for quad in quads)
    )
    ox.serialize(parsed, output, fmt.oxigraph_format, prefixes=PREFIXES)


class _LineReader(io.RawIOBase):
    """The sorted lines as a binary file of N-Triples or N-Quads, for pyoxigraph's parser."""

    def __init__(self, lines: _Counted) -> None:
        self.batches = lines.batches()
        self.pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            batch = next(self.batches, None)
            if batch is None:
                return 0
            self.pending = memoryview("".join(f"{_statement(line)} .\n" for line in batch).encode())
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


def _write_jsonld(lines: _Counted, fmt: RdfSerialization, output: IO[bytes]) -> None:
    """Write compact JSON-LD node by node, indented as :func:`_jsonld` indents the whole."""

    def write(text: str) -> None:
        output.write(text.encode())

    context = {"@context": dict(sorted(PREFIXES.items())), "@graph": []}
    write(json.dumps(context, ensure_ascii=False, indent=2).removesuffix("[]\n}"))
    items = 0  # of the top @graph: nodes of the default graph, named graphs
    for graph, graph_lines in itertools.groupby(lines, key=lambda line: line.split("\t", 1)[0]):
        nodes = _jsonld_nodes(graph_lines)
        if not graph:
            for node in nodes:
                write(("[\n    " if items == 0 else ",\n    ") + _indented(node, 4))
                items += 1
            continue
        write("[\n    " if items == 0 else ",\n    ")
        write(f'{{\n      "@id": {json.dumps(graph, ensure_ascii=False)},\n      "@graph": [')
        for number, node in enumerate(nodes):
            write(("\n        " if number == 0 else ",\n        ") + _indented(node, 8))
        write("\n      ]\n    }")
        items += 1
    write("\n  ]\n}\n" if items else "[]\n}\n")


def _jsonld_nodes(lines: Iterable[str]) -> Iterator[dict]:
    for _, subject_lines in itertools.groupby(lines, key=lambda line: line.split("\t", 2)[1]):
        text = "".join(f"{_statement(line)} .\n" for line in subject_lines)
        (node,) = _node_objects([q.triple for q in ox.parse(text, format=ox.RdfFormat.N_QUADS)])
        yield node


def _indented(node: dict, spaces: int) -> str:
    return json.dumps(node, ensure_ascii=False, indent=2).replace("\n", "\n" + " " * spaces)


_WRITERS: dict[str, tuple[Callable[[ox.Quad], str], Callable]] = {
    "nq": (_quad_line, _write_lines),
    "nt": (_triple_line, _write_lines),
    "trig": (_quad_line, _write_parsed),
    "ttl": (_triple_line, _write_parsed),
    "xml": (_triple_line, _write_parsed),
    "jsonld": (_jsonld_line, _write_jsonld),
}


# JSON-LD: pyoxigraph writes expanded JSON-LD; people read compact JSON-LD with a context.
# Keys and IRIs are compacted with the project's prefixes, values sorted, single values unwrapped.


def _term_id(term: ox.NamedNode | ox.BlankNode | ox.Triple) -> str:
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Triple):
        raise ValueError(f"JSON-LD output cannot hold the RDF-star term {term}")
    return compact(term.value)


def _value(term: Term) -> object:
    if isinstance(term, ox.Literal):
        if term.language:
            return {"@value": term.value, "@language": term.language}
        if term.datatype.value == XSD_STRING:
            return term.value
        return {"@value": term.value, "@type": compact(term.datatype.value)}
    if isinstance(term, ox.NamedNode | ox.BlankNode):
        return {"@id": _term_id(term)}
    raise ValueError(f"JSON-LD output cannot hold the RDF-star term {term}")


def _sort_key(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _node_objects(triples: list[ox.Triple]) -> list[dict]:
    nodes: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for triple in triples:
        described = nodes[_term_id(triple.subject)]
        if triple.predicate.value == RDF_TYPE and not isinstance(triple.object, ox.Literal):
            described["@type"].append(_term_id(triple.object))
        else:
            described[compact(triple.predicate.value)].append(_value(triple.object))
    result = []
    for subject in sorted(nodes):
        node: dict[str, object] = {"@id": subject}
        for key in sorted(nodes[subject], key=lambda k: (k != "@type", k)):
            values = sorted(nodes[subject][key], key=_sort_key)
            node[key] = values[0] if len(values) == 1 else values
        result.append(node)
    return result


def _jsonld(graphs: dict[str | None, list[ox.Triple]]) -> bytes:
    return (json.dumps(jsonld_document(graphs), ensure_ascii=False, indent=2) + "\n").encode()


def jsonld_document(graphs: dict[str | None, list[ox.Triple]]) -> dict:
    """Return the compact JSON-LD document of sorted triples, by graph name (None: default)."""
    document: dict[str, object] = {"@context": dict(sorted(PREFIXES.items()))}
    top: list[dict] = []
    for name, triples in graphs.items():
        if name is None:
            top.extend(_node_objects(triples))
        else:
            top.append({"@id": name, "@graph": _node_objects(triples)})
    document["@graph"] = top
    return document
