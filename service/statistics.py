"""VoID statistics of the served dataset, counted by SPARQL aggregates in the store.

The figures: distinct triples of the union of the graphs, distinct subjects,
entities (subjects in zigraph's IRI space), a few example resources, and the triples of each
class (``rdf:type``) and each property; and, for the pages, the classes of the data graphs
with their members (their subclasses' too) and their superclasses. The embedded store
counts them when it is built; a remote store's come from the record ``zigraph push`` writes,
or are counted by the store itself.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable

import pyoxigraph as ox

from service.namespaces import GRAPH_BASE, ID_BASE, RDF, RDFS
from service.terms import Term, term_value

RDF_TYPE = str(RDF.type)
SUBCLASS_OF = str(RDFS.subClassOf)
ONTOLOGY_GRAPHS = GRAPH_BASE + "ontology/"
SHAPES_GRAPHS = GRAPH_BASE + "shapes/"
DATA_GRAPHS_FILTER = (
    f'FILTER(!STRSTARTS(STR(?g), "{ONTOLOGY_GRAPHS}") && !STRSTARTS(STR(?g), "{SHAPES_GRAPHS}"))'
)
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
DATA_TYPES = f"""SELECT ?d (COUNT(DISTINCT ?s) AS ?n) WHERE {{
  GRAPH ?g {{ ?s <{RDF_TYPE}> ?d }} {DATA_GRAPHS_FILTER} }} GROUP BY ?d"""
SUPERCLASSES = f"""SELECT DISTINCT ?c ?parent WHERE {{
  ?c <{SUBCLASS_OF}> ?parent FILTER(isIRI(?c) && isIRI(?parent) && ?c != ?parent) }}"""


def class_figures(
    direct: dict[str, int],
    superclasses: Iterable[tuple[str, str]],
    count_members: Callable[[list[str]], int],
) -> dict:
    """Return the data's classes with their members, subclasses' included, and superclasses.

    :param direct: the members stated of each type in the data graphs.
    :param count_members: the distinct members stated of any of the given types.
    """
    parents: dict[str, set[str]] = {}
    for child, parent in superclasses:
        parents.setdefault(child, set()).add(parent)
    below: dict[str, list[str]] = {}  # each class and the stated types under it
    for stated in direct:
        seen, todo = {stated}, [stated]
        while todo:
            for parent in parents.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        for cls in seen:
            below.setdefault(cls, []).append(stated)
    members = {
        cls: direct[types[0]] if len(types) == 1 else count_members(sorted(types))
        for cls, types in below.items()
    }
    return {
        "members": members,
        "stated": sorted(direct),
        "superclasses": {c: sorted(parents.get(c, set()) & set(members)) for c in members},
    }


Rows = list[tuple[Term | None, ...]]


def from_store(store: ox.Store) -> dict:
    """Count the statistics of an Oxigraph store, the default graph the union of all.

    Run in an evaluator (``EmbeddedBackend.statistics``) and when a store is built.
    """

    def rows(query: str) -> Rows:
        answer = store.query(query, use_default_graph_as_union=True)
        if not isinstance(answer, ox.QuerySolutions):
            raise TypeError(f"not a SELECT query: {query}")
        return [tuple(solution) for solution in answer]

    return from_queries(rows)


def from_queries(rows: Callable[[str], Rows]) -> dict:
    """Count the statistics with SPARQL aggregates that ``rows`` runs and answers.

    :param rows: runs a SELECT query over the dataset (its default graph the union of the
        data's graphs, its named graphs the data's) and returns its rows: the embedded
        store's evaluator or a remote store, which count alike.

    Nothing proportional to the data is kept in Python: a million triples take a few seconds
    and the memory of the engine's DISTINCT, where a list of every quad overran an evaluator's
    heap.
    """

    def number(query: str) -> int:
        return int(term_value(rows(query)[0][0]))

    def count_members(types: list[str]) -> int:
        values = " ".join(f"<{t}>" for t in types)
        return number(
            f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ VALUES ?d {{ {values} }} "
            f"GRAPH ?g {{ ?s <{RDF_TYPE}> ?d }} {DATA_GRAPHS_FILTER} }}"
        )

    direct = {
        row[0].value: int(term_value(row[1]))
        for row in rows(DATA_TYPES)
        if isinstance(row[0], ox.NamedNode)
    }
    superclasses = [(term_value(row[0]), term_value(row[1])) for row in rows(SUPERCLASSES)]
    properties = Counter({term_value(row[0]): int(term_value(row[1])) for row in rows(PROPERTIES)})
    return {
        "data_classes": class_figures(direct, superclasses, count_members),
        "triples": sum(properties.values()),
        "subjects": number(SUBJECTS),
        "entities": number(ENTITIES),
        "examples": [term_value(row[0]) for row in rows(EXAMPLES)],
        "classes": Counter({term_value(row[0]): int(term_value(row[1])) for row in rows(CLASSES)}),
        "properties": properties,
    }


def from_quads(quads: Iterable[ox.Quad]) -> dict:
    """Count the same statistics from quads in Python: the reference the tests hold
    :func:`from_queries` to."""
    quads = list(quads)
    triples = {q.triple for q in quads}
    stated: dict[str, set] = {}
    for quad in quads:
        graph = quad.graph_name
        if (
            quad.predicate.value == RDF_TYPE
            and isinstance(quad.object, ox.NamedNode)
            and isinstance(graph, ox.NamedNode)
            and not graph.value.startswith((ONTOLOGY_GRAPHS, SHAPES_GRAPHS))
        ):
            stated.setdefault(quad.object.value, set()).add(quad.subject)
    superclasses = [
        (t.subject.value, t.object.value)
        for t in triples
        if t.predicate.value == SUBCLASS_OF
        and isinstance(t.subject, ox.NamedNode)
        and isinstance(t.object, ox.NamedNode)
        and t.subject != t.object
    ]
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
        "data_classes": class_figures(
            {cls: len(members) for cls, members in stated.items()},
            superclasses,
            lambda types: len(set().union(*(stated[t] for t in types))),
        ),
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
    if "members" not in figures.get("data_classes", {}):  # saved before the pages' figures
        raise KeyError("data_classes")
    for key in ("classes", "properties"):
        figures[key] = Counter(figures[key])
    return figures
