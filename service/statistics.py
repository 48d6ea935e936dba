"""VoID statistics of the served dataset: counted by SPARQL in the store, or from its quads.

Both give the same figures: distinct triples of the union of the graphs, distinct subjects,
entities (subjects in zigraph's IRI space), a few example resources, and the triples of each
class (``rdf:type``) and each property.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

import pyoxigraph as ox

from service.namespaces import ID_BASE, RDF

RDF_TYPE = str(RDF.type)
EXAMPLE_RESOURCES = 3

PROPERTIES = """SELECT ?p (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }
GROUP BY ?p"""
CLASSES = f"""SELECT ?c (COUNT(*) AS ?n) WHERE {{
  SELECT DISTINCT ?s ?c WHERE {{ ?s <{RDF_TYPE}> ?c FILTER(isIRI(?c)) }} }} GROUP BY ?c"""
SUBJECTS = "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }"
IN_ID_SPACE = f'isIRI(?s) && STRSTARTS(STR(?s), "{ID_BASE}")'
ENTITIES = f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s ?p ?o FILTER({IN_ID_SPACE}) }}"
EXAMPLES = f"""SELECT DISTINCT ?s WHERE {{ ?s <{RDF_TYPE}> ?type FILTER({IN_ID_SPACE}) }}
ORDER BY STR(?s) LIMIT {EXAMPLE_RESOURCES}"""


def from_store(store: ox.Store) -> dict:
    """Count the statistics with SPARQL aggregates, the default graph the union of all.

    Nothing proportional to the data is kept in Python: a million triples take a few seconds
    and the memory of the engine's DISTINCT, where a list of every quad overran an evaluator's
    heap. Run in an evaluator (``EmbeddedBackend.statistics``).
    """

    def rows(query: str) -> list[ox.QuerySolution]:
        answer = store.query(query, use_default_graph_as_union=True)
        if not isinstance(answer, ox.QuerySolutions):
            raise TypeError(f"not a SELECT query: {query}")
        return list(answer)

    def number(query: str) -> int:
        return int(rows(query)[0][0].value)

    properties = Counter({row[0].value: int(row[1].value) for row in rows(PROPERTIES)})
    return {
        "triples": sum(properties.values()),
        "subjects": number(SUBJECTS),
        "entities": number(ENTITIES),
        "examples": [row[0].value for row in rows(EXAMPLES)],
        "classes": Counter({row[0].value: int(row[1].value) for row in rows(CLASSES)}),
        "properties": properties,
    }


def from_quads(quads: Iterable[ox.Quad]) -> dict:
    """Count the same statistics from a list of quads (a remote store's, read whole)."""
    triples = {q.triple for q in quads}
    subjects = {t.subject for t in triples}
    classes: Counter = Counter()
    properties: Counter = Counter()
    for triple in triples:
        properties[triple.predicate.value] += 1
        if triple.predicate.value == RDF_TYPE and isinstance(triple.object, ox.NamedNode):
            classes[triple.object.value] += 1
    entities = sorted(
        s.value for s in subjects if isinstance(s, ox.NamedNode) and s.value.startswith(ID_BASE)
    )
    typed = {
        t.subject.value
        for t in triples
        if t.predicate.value == RDF_TYPE and isinstance(t.subject, ox.NamedNode)
    }
    return {
        "triples": len(triples),
        "subjects": len(subjects),
        "entities": len(entities),
        "examples": [e for e in entities if e in typed][:EXAMPLE_RESOURCES],
        "classes": classes,
        "properties": properties,
    }


def dumps(figures: dict) -> str:
    """Return the statistics as JSON, to be saved."""
    return json.dumps(figures, indent=1, sort_keys=True)


def loads(text: str) -> dict:
    """Return statistics saved by ``dumps``, the counts as Counters again."""
    figures = json.loads(text)
    for key in ("classes", "properties"):
        figures[key] = Counter(figures[key])
    return figures
