"""Write SELECT and ASK answers in the four SPARQL 1.1 result formats.

The JSON form is written here from a :class:`QueryResult` (which may have been capped);
XML, CSV and TSV are produced from it by Oxigraph's own result writers, so each format
follows its W3C specification exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

from service.export import RDF_LANG_STRING, XSD_STRING

if TYPE_CHECKING:
    from service.store.base import QueryResult


@dataclass(frozen=True)
class ResultsSerialization:
    """One SPARQL results format: short name, media type and Oxigraph's writer for it."""

    name: str
    media_type: str
    oxigraph_format: ox.QueryResultsFormat
    holds_boolean: bool


RESULT_FORMATS: dict[str, ResultsSerialization] = {
    f.name: f
    for f in (
        ResultsSerialization(
            "json", "application/sparql-results+json", ox.QueryResultsFormat.JSON, True
        ),
        ResultsSerialization(
            "xml", "application/sparql-results+xml", ox.QueryResultsFormat.XML, True
        ),
        ResultsSerialization("csv", "text/csv", ox.QueryResultsFormat.CSV, False),
        ResultsSerialization("tsv", "text/tab-separated-values", ox.QueryResultsFormat.TSV, False),
    )
}


def term_json(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> dict:
    """Return the SPARQL JSON encoding of one RDF term."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        encoded = {"type": "literal", "value": term.value}
        if term.language:
            encoded["xml:lang"] = term.language
        elif term.datatype.value not in (XSD_STRING, RDF_LANG_STRING):
            encoded["datatype"] = term.datatype.value
        return encoded
    if isinstance(term, ox.Triple):
        return {
            "type": "triple",
            "value": {
                "subject": term_json(term.subject),
                "predicate": term_json(term.predicate),
                "object": term_json(term.object),
            },
        }
    raise TypeError(f"not an RDF term: {term!r}")


def results_json(result: QueryResult) -> bytes:
    """Return a SELECT or ASK answer as SPARQL 1.1 Query Results JSON."""
    if result.kind == "boolean":
        document: dict = {"head": {}, "boolean": bool(result.boolean)}
    else:
        bindings = [
            {v: term_json(t) for v, t in zip(result.variables, row, strict=True) if t is not None}
            for row in result.rows
        ]
        document = {"head": {"vars": list(result.variables)}, "results": {"bindings": bindings}}
    return json.dumps(document, ensure_ascii=False).encode()


def serialize_results(result: QueryResult, fmt: ResultsSerialization) -> bytes:
    """Serialize a SELECT or ASK answer in ``fmt``."""
    written = results_json(result)
    if fmt.name == "json":
        return written
    parsed = ox.parse_query_results(written, format=ox.QueryResultsFormat.JSON)
    serialized = parsed.serialize(format=fmt.oxigraph_format)
    # pyoxigraph's stub says bytes | None: given no output, serialize returns the bytes.
    return serialized  # type: ignore[return-value]
