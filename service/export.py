"""Serialize triples and the whole dataset, deterministically, in every RDF format offered."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from service.namespaces import PREFIXES, RDF, XSD, compact

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
    return ox.serialize(ordered, format=fmt.oxigraph_format, prefixes=prefixes or PREFIXES)


def serialize_dataset(quads: Iterable[ox.Quad], fmt: RdfSerialization) -> bytes:
    """Serialize a dataset: named graphs where the format holds them, else their union."""
    quads = list(quads)
    if not fmt.holds_graphs:
        return serialize_triples((q.triple for q in quads), fmt)
    if fmt.oxigraph_format is None:
        graphs: dict[str | None, list[ox.Triple]] = defaultdict(list)
        for quad in quads:
            name = None if isinstance(quad.graph_name, ox.DefaultGraph) else quad.graph_name
            graphs[_term_id(name) if name is not None else None].append(quad.triple)
        return _jsonld({g: sorted(set(t), key=str) for g, t in sorted(graphs.items(), key=_key)})
    ordered = sorted(set(quads), key=lambda q: (str(q.graph_name), str(q)))
    return ox.serialize(ordered, format=fmt.oxigraph_format, prefixes=PREFIXES)


def _key(item: tuple[str | None, list]) -> str:
    return item[0] or ""


# JSON-LD: pyoxigraph writes expanded JSON-LD; people read compact JSON-LD with a context.
# Keys and IRIs are compacted with the project's prefixes, values sorted, single values unwrapped.


def _term_id(term: ox.NamedNode | ox.BlankNode) -> str:
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return compact(term.value)


def _value(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> object:
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
        node = nodes[_term_id(triple.subject)]
        if triple.predicate.value == RDF_TYPE and not isinstance(triple.object, ox.Literal):
            node["@type"].append(_term_id(triple.object))
        else:
            node[compact(triple.predicate.value)].append(_value(triple.object))
    result = []
    for subject in sorted(nodes):
        node: dict[str, object] = {"@id": subject}
        for key in sorted(nodes[subject], key=lambda k: (k != "@type", k)):
            values = sorted(nodes[subject][key], key=_sort_key)
            node[key] = values[0] if len(values) == 1 else values
        result.append(node)
    return result


def _jsonld(graphs: dict[str | None, list[ox.Triple]]) -> bytes:
    document: dict[str, object] = {"@context": dict(sorted(PREFIXES.items()))}
    top: list[dict] = []
    for name, triples in graphs.items():
        if name is None:
            top.extend(_node_objects(triples))
        else:
            top.append({"@id": name, "@graph": _node_objects(triples)})
    document["@graph"] = top
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()
