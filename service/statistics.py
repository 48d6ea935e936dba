"""VoID statistics of the served dataset, counted by SPARQL aggregates in the store.

The figures: distinct triples of the union of the graphs, distinct subjects,
entities (subjects in zigraph's IRI space), a few example resources, and the triples of each
class (``rdf:type``) and each property; and, for the pages, the classes of the data graphs
with their members (their subclasses' too) and their superclasses, and the hubs: the entities
most linked to, whose pages each web process renders ahead (``service.warming``). The
embedded store counts them when it is built; a remote store's come from the record
``zigraph push`` writes, or are counted by the store itself.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable

import pyoxigraph as ox

from service.namespaces import DCTERMS, GRAPH_BASE, ID_BASE, OWL, RDF, RDFS, SCHEMA, SH, XSD, ZI
from service.terms import Term, term_value

RDF_TYPE = str(RDF.type)
SUBCLASS_OF = str(RDFS.subClassOf)
ONTOLOGY_GRAPHS = GRAPH_BASE + "ontology/"
SHAPES_GRAPHS = GRAPH_BASE + "shapes/"
DATA_GRAPHS_FILTER = (
    f'FILTER(!STRSTARTS(STR(?g), "{ONTOLOGY_GRAPHS}") && !STRSTARTS(STR(?g), "{SHAPES_GRAPHS}"))'
)
EXAMPLE_RESOURCES = 3
HUBS = 5  # the entities most linked to that the statistics name

PROPERTIES = """SELECT ?p (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }
GROUP BY ?p"""
CLASSES = f"""SELECT ?c (COUNT(*) AS ?n) WHERE {{
  SELECT DISTINCT ?s ?c WHERE {{ ?s <{RDF_TYPE}> ?c FILTER(isIRI(?c)) }} }} GROUP BY ?c"""
# The subjects come back whole and are sorted out in Python: a filter on STR(?s) per triple
# and an ORDER BY STR(?s) cost the engine 12 s and 27 s at a million triples, these 4 s.
SUBJECTS = "SELECT DISTINCT ?s WHERE { ?s ?p ?o }"
TYPED_SUBJECTS = f"SELECT DISTINCT ?s WHERE {{ ?s <{RDF_TYPE}> ?type }}"
DATA_TYPES = f"""SELECT ?d (COUNT(DISTINCT ?s) AS ?n) WHERE {{
  GRAPH ?g {{ ?s <{RDF_TYPE}> ?d }} {DATA_GRAPHS_FILTER} }} GROUP BY ?d"""
# What the catalogue says the data covers: literals dated with these types give its years,
# things of these classes (or their subclasses) its places, and language tags its languages.
DATED_TYPES = tuple(str(XSD[t]) for t in ("date", "dateTime", "gYear", "gYearMonth"))
PLACE_CLASSES = tuple(
    str(c) for c in (SCHEMA.AdministrativeArea, SCHEMA.City, SCHEMA.Country, DCTERMS.Location)
)
SAME_AS = (str(SCHEMA.sameAs), str(OWL.sameAs))
_dated = ", ".join(f"<{t}>" for t in DATED_TYPES)
YEARS = f"""SELECT (MIN(?year) AS ?first) (MAX(?year) AS ?last) WHERE {{
  GRAPH ?g {{ ?s ?p ?o }} {DATA_GRAPHS_FILTER}
  FILTER(isLiteral(?o) && DATATYPE(?o) IN ({_dated}) && REGEX(STR(?o), "^[0-9]{{4}}"))
  BIND(xsd:integer(SUBSTR(STR(?o), 1, 4)) AS ?year) }}""".replace("xsd:integer", f"<{XSD.integer}>")
LANGUAGES = f"""SELECT DISTINCT (LCASE(STRBEFORE(CONCAT(LANG(?o), "-"), "-")) AS ?language)
WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {DATA_GRAPHS_FILTER} FILTER(isLiteral(?o) && LANG(?o) != "") }}"""
# The entities in zigraph's IRI space that are the object of the most quads of the data graphs,
# most first (4.4 s at a million triples: the load counts them as the quads stream by).
HUBS_QUERY = f"""SELECT ?o (COUNT(*) AS ?n) WHERE {{
  GRAPH ?g {{ ?s ?p ?o }} {DATA_GRAPHS_FILTER} FILTER(isIRI(?o) && STRSTARTS(STR(?o), "{ID_BASE}"))
}} GROUP BY ?o ORDER BY DESC(?n) ?o LIMIT {HUBS}"""
# The home page's year: the latest in which designations were assessed (0.8 s at a million
# triples, too long for its first visitor).
ASSESSMENT_YEARS = f"""SELECT DISTINCT ?year WHERE {{
  ?c <{RDF_TYPE}> <{ZI.DesignationConferral}> ; <{ZI.assessmentYear}> ?year }}"""
# What the conformance report covers, for /validation: the shapes, and the nodes they target.
# The target classes and properties first, then their members: a path from every typed node
# up to the targets took three times as long (0.6 s at a million triples, 0.2 s); over
# Virtuoso 0.8 s, too long for the page's first visitor.
SHAPES = f"""SELECT (COUNT(DISTINCT ?shape) AS ?n) WHERE {{ GRAPH ?g {{
  {{ ?shape a <{SH.NodeShape}> }} UNION {{ ?shape a <{SH.PropertyShape}> }}
  UNION {{ ?any <{SH.property}> ?shape }} }}
  FILTER(STRSTARTS(STR(?g), "{SHAPES_GRAPHS}")) }}"""
FOCUS_NODES = f"""SELECT (COUNT(DISTINCT ?node) AS ?n) WHERE {{
  {{ {{ SELECT DISTINCT ?class WHERE {{
       ?shape <{SH.targetClass}> ?target . ?class <{SUBCLASS_OF}>* ?target }} }}
     ?node a ?class }}
  UNION {{ ?shape <{SH.targetNode}> ?node }}
  UNION {{ {{ SELECT DISTINCT ?p WHERE {{ ?shape <{SH.targetSubjectsOf}> ?p }} }} ?node ?p ?o }}
  UNION {{ {{ SELECT DISTINCT ?p WHERE {{ ?shape <{SH.targetObjectsOf}> ?p }} }} ?s ?p ?node }}
}}"""
PLACES = f"""SELECT DISTINCT ?place ?same WHERE {{
  VALUES ?top {{ {" ".join(f"<{c}>" for c in PLACE_CLASSES)} }}
  GRAPH ?g {{ ?place <{RDF_TYPE}> ?type }} {DATA_GRAPHS_FILTER}
  ?type <{SUBCLASS_OF}>* ?top FILTER(isIRI(?place))
  OPTIONAL {{ VALUES ?sameAs {{ {" ".join(f"<{p}>" for p in SAME_AS)} }}
    ?place ?sameAs ?same FILTER(isIRI(?same)) }} }}"""
SUPERCLASSES = f"""SELECT DISTINCT ?c ?parent WHERE {{
  ?c <{SUBCLASS_OF}> ?parent FILTER(isIRI(?c) && isIRI(?parent) && ?c != ?parent) }}"""


def members_of(class_node: str) -> str:
    """Return a SELECT of the distinct members ``?s`` of a class (a SPARQL term), its
    subclasses' too.

    The subclasses are found first, then their members: a path up from every typed node
    (``?s a/rdfs:subClassOf* C``) took twice as long at a million triples.
    """
    return (
        f"SELECT DISTINCT ?s WHERE {{ {{ SELECT DISTINCT ?c WHERE "
        f"{{ ?c <{SUBCLASS_OF}>* {class_node} }} }} ?s a ?c }}"
    )


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


def from_store(store: ox.Store, survey: dict | None = None) -> dict:
    """Count the statistics of an Oxigraph store, the default graph the union of all.

    Run in an evaluator (``EmbeddedBackend.statistics``) and when a store is built.

    :param survey: the languages and years of the data's literals and its hubs, as
        ``LoadSurvey`` saw them while the store was loaded; counted by query when not given.
    """

    def rows(query: str) -> Rows:
        answer = store.query(query, use_default_graph_as_union=True)
        if not isinstance(answer, ox.QuerySolutions):
            raise TypeError(f"not a SELECT query: {query}")
        return [tuple(solution) for solution in answer]

    return from_queries(rows, survey)


def from_queries(rows: Callable[[str], Rows], survey: dict | None = None) -> dict:
    """Count the statistics with SPARQL aggregates that ``rows`` runs and answers.

    :param rows: runs a SELECT query over the dataset (its default graph the union of the
        data's graphs, its named graphs the data's) and returns its rows: the embedded
        store's evaluator or a remote store, which count alike.
    :param survey: what ``LoadSurvey`` saw of the quads as they were loaded; what it lacks
        is counted by query.

    No quad is kept in Python, only the distinct subjects (170,000 at a million triples,
    about 20 MB), where a list of every quad overran an evaluator's heap.
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
    subjects = [row[0] for row in rows(SUBJECTS)]
    properties = Counter({term_value(row[0]): int(term_value(row[1])) for row in rows(PROPERTIES)})
    survey = dict(survey or {})
    if "languages" not in survey:  # two scans of every literal: 31 s at a million triples
        first, last = rows(YEARS)[0]
        survey["languages"] = [term_value(row[0]) for row in rows(LANGUAGES)]
        years = [int(term_value(first)), int(term_value(last))] if first and last else None
        survey["years"] = years
    if "hubs" not in survey:
        survey["hubs"] = [[term_value(row[0]), int(term_value(row[1]))] for row in rows(HUBS_QUERY)]
    places: dict[str, set[str]] = {}
    for place, same in rows(PLACES):
        places.setdefault(term_value(place), set()).update([term_value(same)] if same else [])
    return {
        "data_classes": class_figures(direct, superclasses, count_members),
        "coverage": coverage(
            survey["languages"], tuple(survey["years"]) if survey["years"] else None, places
        ),
        "triples": sum(properties.values()),
        "subjects": len(subjects),
        "entities": sum(1 for s in subjects if _in_id_space(s)),
        "examples": sorted(
            term_value(row[0]) for row in rows(TYPED_SUBJECTS) if _in_id_space(row[0])
        )[:EXAMPLE_RESOURCES],
        "classes": Counter({term_value(row[0]): int(term_value(row[1])) for row in rows(CLASSES)}),
        "properties": properties,
        "latest_assessment_year": latest_year(term_value(row[0]) for row in rows(ASSESSMENT_YEARS)),
        "shapes": number(SHAPES),
        "focus_nodes": number(FOCUS_NODES),
        "hubs": survey["hubs"],
    }


def latest_year(values: Iterable[str]) -> int | None:
    """Return the latest year of lexical forms that begin with one (None: none does)."""
    years = [int(value[:4]) for value in values if value[:4].isdigit()]
    return max(years) if years else None


def _in_id_space(term: Term | None) -> bool:
    return isinstance(term, ox.NamedNode) and term.value.startswith(ID_BASE)


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
    conferral = ox.NamedNode(str(ZI.DesignationConferral))
    conferrals = {
        t.subject for t in triples if t.predicate.value == RDF_TYPE and t.object == conferral
    }
    return {
        "data_classes": class_figures(
            {cls: len(members) for cls, members in stated.items()},
            superclasses,
            lambda types: len(set().union(*(stated[t] for t in types))),
        ),
        "coverage": _coverage_of_quads(quads, superclasses),
        "triples": len(triples),
        "subjects": len(subjects),
        "entities": len(entities),
        "examples": [e for e in entities if e in typed][:EXAMPLE_RESOURCES],
        "classes": classes,
        "properties": properties,
        "latest_assessment_year": latest_year(
            t.object.value
            for t in triples
            if t.predicate.value == str(ZI.assessmentYear)
            and t.subject in conferrals
            and isinstance(t.object, ox.Literal)
        ),
        "shapes": len(_shapes_of_quads(quads)),
        "focus_nodes": len(_focus_nodes_of_triples(triples)),
        "hubs": _hubs_of_quads(quads),
    }


def _hubs_of_quads(quads: list[ox.Quad]) -> list[list]:
    """Return the hubs, as ``HUBS_QUERY`` finds them."""
    links = Counter(
        q.object.value
        for q in quads
        if _in_data(q.graph_name)
        and isinstance(q.object, ox.NamedNode)
        and q.object.value.startswith(ID_BASE)
    )
    return [[iri, n] for iri, n in sorted(links.items(), key=lambda i: (-i[1], i[0]))[:HUBS]]


def _shapes_of_quads(quads: list[ox.Quad]) -> set:
    """Return the shapes of the shapes graphs, as ``SHAPES`` counts them."""
    kinds = {str(SH.NodeShape), str(SH.PropertyShape)}
    return {
        q.object if q.predicate.value == str(SH.property) else q.subject
        for q in quads
        if isinstance(q.graph_name, ox.NamedNode)
        and q.graph_name.value.startswith(SHAPES_GRAPHS)
        and (
            q.predicate.value == str(SH.property)
            or (
                q.predicate.value == RDF_TYPE
                and isinstance(q.object, ox.NamedNode)
                and q.object.value in kinds
            )
        )
    }


def _focus_nodes_of_triples(triples: set[ox.Triple]) -> set:
    """Return the nodes the shapes target, as ``FOCUS_NODES`` counts them."""

    def objects(predicate: str) -> set:
        return {t.object for t in triples if t.predicate.value == predicate}

    targets = objects(str(SH.targetClass))
    parents: dict = {}
    for t in triples:
        if t.predicate.value == SUBCLASS_OF:
            parents.setdefault(t.subject, set()).add(t.object)

    def reaches(cls, seen: set) -> bool:  # rdfs:subClassOf* from cls to a target
        if cls in targets:
            return True
        seen.add(cls)
        return any(reaches(p, seen) for p in parents.get(cls, ()) if p not in seen)

    subjects_of, objects_of = objects(str(SH.targetSubjectsOf)), objects(str(SH.targetObjectsOf))
    nodes = objects(str(SH.targetNode))
    for t in triples:
        if t.predicate.value == RDF_TYPE and reaches(t.object, set()):
            nodes.add(t.subject)
        if t.predicate in subjects_of:
            nodes.add(t.subject)
        if t.predicate in objects_of:
            nodes.add(t.object)
    return nodes


class LoadSurvey:
    """What the load sees of the quads as they stream by: the languages and years of the data
    graphs' literals, and the entities most linked to (the hubs).

    Asked by query, the literals' figures cost two scans of every literal (31 s at a million
    triples) and the hubs a count of every link (4.4 s); seen while the store is loaded they
    cost about a second.
    """

    def __init__(self) -> None:
        self.languages: set[str] = set()
        self.first: int | None = None
        self.last: int | None = None
        self.links: Counter[str] = Counter()  # quads of the data graphs to each entity

    def watch(self, quads: Iterable[ox.Quad]) -> Iterable[ox.Quad]:
        """Yield the quads unchanged, noting their literals' languages and years and the
        entities they link to."""
        dated = set(DATED_TYPES)
        links = self.links
        for quad in quads:
            value = quad.object
            if type(value) is ox.NamedNode:
                if (iri := value.value).startswith(ID_BASE) and _in_data(quad.graph_name):
                    links[iri] += 1
            elif type(value) is ox.Literal and _in_data(quad.graph_name):
                if value.language:
                    self.languages.add(value.language.split("-")[0].lower())
                elif value.datatype.value in dated and value.value[:4].isdigit():
                    year = int(value.value[:4])
                    self.first = year if self.first is None else min(self.first, year)
                    self.last = year if self.last is None else max(self.last, year)
            yield quad

    def figures(self) -> dict:
        """Return the survey as ``from_store`` takes it."""
        years = [self.first, self.last] if self.first is not None else None
        hubs = sorted(self.links.items(), key=lambda item: (-item[1], item[0]))[:HUBS]
        return {
            "languages": sorted(self.languages),
            "years": years,
            "hubs": [[iri, n] for iri, n in hubs],
        }


def _in_data(graph: ox.NamedNode | ox.BlankNode | ox.DefaultGraph) -> bool:
    """Return whether a quad's graph is one of the data graphs (named, not the ontology's or
    the shapes')."""
    if type(graph) is ox.NamedNode:
        return not graph.value.startswith((ONTOLOGY_GRAPHS, SHAPES_GRAPHS))
    return type(graph) is ox.BlankNode


def coverage(
    languages: Iterable[str], years: tuple[int, int] | None, places: dict[str, set[str]]
) -> dict:
    """Return what the data covers: its languages, first and last year, places (with their
    ``sameAs`` IRIs), for the catalogue."""
    return {
        "languages": sorted(languages),
        "years": list(years) if years else None,
        "places": {place: sorted(same) for place, same in sorted(places.items())},
    }


def _coverage_of_quads(quads: list[ox.Quad], superclasses: list[tuple[str, str]]) -> dict:
    """Return ``coverage`` counted from quads, as the PLACES, YEARS and LANGUAGES queries do."""
    parents: dict[str, set[str]] = {}
    for child, parent in superclasses:
        parents.setdefault(child, set()).add(parent)

    def is_place_class(cls: str) -> bool:
        seen, todo = {cls}, [cls]
        while todo:
            current = todo.pop()
            if current in PLACE_CLASSES:
                return True
            for parent in parents.get(current, ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return False

    languages: set[str] = set()
    years: list[int] = []
    places: dict[str, set[str]] = {}
    for quad in quads:
        graph = quad.graph_name
        if not isinstance(graph, ox.NamedNode) or graph.value.startswith(
            (ONTOLOGY_GRAPHS, SHAPES_GRAPHS)
        ):
            continue
        value = quad.object
        if isinstance(value, ox.Literal):
            if value.language:
                languages.add(value.language.split("-")[0].lower())
            elif value.datatype.value in DATED_TYPES and value.value[:4].isdigit():
                years.append(int(value.value[:4]))
        elif (
            quad.predicate.value == RDF_TYPE
            and isinstance(quad.subject, ox.NamedNode)
            and isinstance(value, ox.NamedNode)
            and is_place_class(value.value)
        ):
            places.setdefault(quad.subject.value, set())
    for quad in quads:
        if (
            isinstance(quad.subject, ox.NamedNode)
            and quad.subject.value in places
            and quad.predicate.value in SAME_AS
            and isinstance(quad.object, ox.NamedNode)
        ):
            places[quad.subject.value].add(quad.object.value)
    return coverage(languages, (min(years), max(years)) if years else None, places)


def dumps(figures: dict) -> str:
    """Return the statistics as JSON, to be saved."""
    return json.dumps(figures, indent=1, sort_keys=True)


def loads(text: str) -> dict:
    """Return statistics saved by ``dumps``, the counts as Counters again."""
    figures = json.loads(text)
    if "members" not in figures.get("data_classes", {}):  # saved before the pages' figures
        raise KeyError("data_classes")
    if "coverage" not in figures:  # saved before the catalogue's figures
        raise KeyError("coverage")
    for key in ("classes", "properties"):
        figures[key] = Counter(figures[key])
    figures.setdefault("hubs", [])  # counted before the hubs were: none is rendered ahead
    return figures
