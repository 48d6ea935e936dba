"""Validate data in an Oxigraph store against SHACL shapes, one SPARQL query per constraint.

pySHACL walks every focus node in Python, which takes minutes for a million triples. Here
each constraint of each shape becomes one SPARQL query over the whole store, answered by
Oxigraph's engine: the focus nodes that break it come back as rows. The SHACL Core
components the shapes use are covered (targets, paths, counts, class, datatype, node kind,
in, languages, ranges, lengths, patterns, logical combinations, qualified value shapes) and
SHACL-SPARQL constraints on node shapes. A shapes graph that uses anything else raises
:class:`Unsupported`, and the caller validates with pySHACL instead, which stays the
reference: the shape tests check that both give the same results on every fixture.

Class membership follows ``rdf:type/rdfs:subClassOf*`` in the data, as pySHACL does without
inference (the ontology is part of the data graph).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

# Oxigraph stores these as xsd:integer, so a store cannot tell whether a value had them.
REWRITTEN_DATATYPES = {
    XSD[name]
    for name in (
        "nonNegativeInteger", "positiveInteger", "nonPositiveInteger", "negativeInteger",
        "long", "int", "short", "byte", "unsignedLong", "unsignedInt", "unsignedShort",
        "unsignedByte",
    )
}  # fmt: skip

# Shape predicates that say nothing to check.
DESCRIPTIVE = {
    SH.name, SH.description, SH.message, SH.severity, SH.order, SH.group, SH.defaultValue,
    SH.deactivated, SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf,
    SH.property, SH.sparql, SH.path, RDF.type, SH.prefixes, SH.declare,
}  # fmt: skip
VALUE_COMPONENTS: dict[Node, URIRef] = {
    SH["class"]: SH.ClassConstraintComponent,
    SH.datatype: SH.DatatypeConstraintComponent,
    SH.nodeKind: SH.NodeKindConstraintComponent,
    SH["in"]: SH.InConstraintComponent,
    SH.languageIn: SH.LanguageInConstraintComponent,
    SH.minInclusive: SH.MinInclusiveConstraintComponent,
    SH.maxInclusive: SH.MaxInclusiveConstraintComponent,
    SH.minExclusive: SH.MinExclusiveConstraintComponent,
    SH.maxExclusive: SH.MaxExclusiveConstraintComponent,
    SH.minLength: SH.MinLengthConstraintComponent,
    SH.maxLength: SH.MaxLengthConstraintComponent,
    SH.pattern: SH.PatternConstraintComponent,
    SH["or"]: SH.OrConstraintComponent,
    SH["and"]: SH.AndConstraintComponent,
    SH["not"]: SH.NotConstraintComponent,
    SH.xone: SH.XoneConstraintComponent,
    SH.node: SH.NodeConstraintComponent,
    SH.hasValue: SH.HasValueConstraintComponent,
}
PROPERTY_ONLY = {
    SH.minCount, SH.maxCount, SH.uniqueLang, SH.qualifiedValueShape, SH.qualifiedMinCount,
    SH.qualifiedMaxCount, SH.flags,
}  # fmt: skip
NODE_KINDS = {
    SH.IRI: "isIRI({v})",
    SH.BlankNode: "isBlank({v})",
    SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "!isLiteral({v})",
    SH.BlankNodeOrLiteral: "!isIRI({v})",
    SH.IRIOrLiteral: "!isBlank({v})",
}
COMPARISONS = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">",
               SH.maxExclusive: "<"}  # fmt: skip


def _count(node: Node) -> int:
    """Return the whole number a shape gives (sh:minCount 1), or refuse the shape."""
    if isinstance(node, Literal):
        return int(node)
    raise Unsupported(f"{node} where a number is expected")


def _is_true(node: Node) -> bool:
    """Return whether a shape's value is the literal true."""
    return isinstance(node, Literal) and node.toPython() is True


class Unsupported(Exception):
    """The shapes use a feature this engine does not evaluate; use pySHACL."""


@dataclass
class Finding:
    """One validation result: the focus node, path and value, and the rule it breaks."""

    focus: ox.NamedNode | ox.BlankNode | ox.Literal
    shape: URIRef | BNode
    component: URIRef
    severity: URIRef
    path: URIRef | BNode | None = None
    value: ox.NamedNode | ox.BlankNode | ox.Literal | None = None
    messages: list[Literal] = field(default_factory=list)


def sparql_term(term) -> str:
    """Return an rdflib term written in SPARQL."""
    if isinstance(term, BNode):
        raise Unsupported("a blank node as a constraint's value")
    return term.n3()


def sparql_string(text: str) -> str:
    """Return a SPARQL string literal holding ``text``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


class ShapesCompiler:
    """Turn the shapes of one shapes graph into SPARQL queries over a store."""

    def __init__(self, shapes: Graph, store: ox.Store, options: dict) -> None:
        self.shapes = shapes
        self.store = store
        self.options = options  # passed to every store.query (the data graphs)
        self._subclasses: dict[URIRef, list[str]] = {}
        self._variables = 0

    # --- paths, targets, value conditions ------------------------------------------------

    def path(self, node) -> str:
        """Return a SHACL property path as a SPARQL property path."""
        if isinstance(node, URIRef):
            return node.n3()
        if (node, RDF.first, None) in self.shapes:
            return "(" + "/".join(self.path(step) for step in Collection(self.shapes, node)) + ")"
        for predicate, pattern in (
            (SH.inversePath, "^{}"),
            (SH.zeroOrMorePath, "{}*"),
            (SH.oneOrMorePath, "{}+"),
            (SH.zeroOrOnePath, "{}?"),
        ):
            inner = self.shapes.value(node, predicate)
            if inner is not None:
                return "(" + pattern.format(self.path(inner)) + ")"
        alternatives = self.shapes.value(node, SH.alternativePath)
        if alternatives is not None:
            steps = Collection(self.shapes, alternatives)
            return "(" + "|".join(self.path(step) for step in steps) + ")"
        raise Unsupported(f"the path {node}")

    def subclasses(self, cls: Node) -> list[str]:
        """Return the class and its subclasses in the data, in SPARQL."""
        if not isinstance(cls, URIRef):
            raise Unsupported(f"the class target {cls}")
        if cls not in self._subclasses:
            query = f"SELECT DISTINCT ?c WHERE {{ ?c <{RDFS.subClassOf}>* {cls.n3()} }}"
            answer = self.store.query(query, **self.options)
            assert isinstance(answer, ox.QuerySolutions)  # a SELECT query's answer
            found = {str(row["c"]) for row in answer}
            self._subclasses[cls] = sorted(found | {cls.n3()})
        return self._subclasses[cls]

    def targets(self, shape) -> str | None:
        """Return a group pattern binding ?this to every focus node of the shape, or None."""
        if (shape, SH.target, None) in self.shapes:
            raise Unsupported("SPARQL-based targets (sh:target)")
        parts = []
        classes = list(self.shapes.objects(shape, SH.targetClass))
        if (shape, RDF.type, RDFS.Class) in self.shapes:  # an implicit class target
            classes.append(shape)
        for cls in classes:
            parts.append(f"VALUES ?class {{ {' '.join(self.subclasses(cls))} }} ?this a ?class .")
        nodes = list(self.shapes.objects(shape, SH.targetNode))
        if nodes:
            parts.append(f"VALUES ?this {{ {' '.join(sparql_term(n) for n in nodes)} }}")
        for predicate in self.shapes.objects(shape, SH.targetSubjectsOf):
            parts.append(f"?this {sparql_term(predicate)} ?any .")
        for predicate in self.shapes.objects(shape, SH.targetObjectsOf):
            parts.append(f"?any {sparql_term(predicate)} ?this .")
        if not parts:
            return None
        union = " UNION ".join("{ " + part + " }" for part in parts)
        return f"{{ SELECT DISTINCT ?this WHERE {{ {union} }} }}"

    def condition(self, shape, v: str) -> str:
        """Return a SPARQL expression true when the term ``v`` conforms to a value shape."""
        checks = []
        for predicate, value in self.shapes.predicate_objects(shape):
            if predicate == SH.property:
                checks.append(self.property_condition(value, v))
                continue
            if predicate in DESCRIPTIVE and predicate != SH.sparql:
                continue
            if predicate not in VALUE_COMPONENTS:
                raise Unsupported(f"{predicate} inside a value shape")
            checks.append(self.component_condition(predicate, value, v))
        return " && ".join(f"({c})" for c in checks) or "true"

    def fresh(self) -> str:
        """Return a variable name no other part of a query uses."""
        self._variables += 1
        return f"?v{self._variables}"

    def property_condition(self, prop, v: str) -> str:
        """Return a SPARQL expression true when ``v`` conforms to a property shape nested in a
        value shape (``sh:node`` naming a node shape with ``sh:property``)."""
        path_node = self.shapes.value(prop, SH.path)
        if path_node is None:
            raise Unsupported("a nested property shape without sh:path")
        path = self.path(path_node)
        checks = []
        for predicate, value in self.shapes.predicate_objects(prop):
            x = self.fresh()
            if predicate in DESCRIPTIVE:
                if predicate in (SH.property, SH.sparql):
                    raise Unsupported(f"{predicate} inside a nested property shape")
                continue
            if predicate == SH.minCount and _count(value) <= 1:
                checks.append(f"EXISTS {{ {v} {path} {x} }}" if _count(value) else "true")
            elif predicate == SH.maxCount and _count(value) <= 1:
                y = self.fresh()
                distinct = f"{x}, {y} FILTER(!sameTerm({x}, {y}))" if _count(value) else x
                checks.append(f"NOT EXISTS {{ {v} {path} {distinct} }}")
            elif predicate == SH.hasValue:
                checks.append(
                    f"EXISTS {{ {v} {path} {x} FILTER(sameTerm({x}, {sparql_term(value)})) }}"
                )
            elif predicate in VALUE_COMPONENTS:
                check = self.component_condition(predicate, value, x)
                checks.append(f"NOT EXISTS {{ {v} {path} {x} FILTER(!({check})) }}")
            else:
                raise Unsupported(f"{predicate} inside a nested property shape")
        return " && ".join(f"({c})" for c in checks) or "true"

    def component_condition(self, component, value, v: str) -> str:
        """Return a SPARQL expression true when ``v`` satisfies one value constraint."""
        if component == SH["class"]:
            return f"EXISTS {{ VALUES ?c {{ {' '.join(self.subclasses(value))} }} {v} a ?c }}"
        if component == SH.datatype:
            if value in REWRITTEN_DATATYPES:
                raise Unsupported(f"sh:datatype {value} (Oxigraph stores it as xsd:integer)")
            return f"isLiteral({v}) && sameTerm(DATATYPE({v}), {value.n3()})"
        if component == SH.nodeKind:
            if value not in NODE_KINDS:
                raise Unsupported(f"sh:nodeKind {value}")
            return NODE_KINDS[value].format(v=v)
        if component == SH["in"]:
            members = Collection(self.shapes, value)
            return " || ".join(f"sameTerm({v}, {sparql_term(m)})" for m in members) or "false"
        if component == SH.hasValue:
            return f"sameTerm({v}, {sparql_term(value)})"
        if component == SH.languageIn:
            tags = [str(tag) for tag in Collection(self.shapes, value)]
            matches = " || ".join(f"langMatches(LANG({v}), {sparql_string(t)})" for t in tags)
            return f'isLiteral({v}) && LANG({v}) != "" && ({matches or "false"})'
        if component in COMPARISONS:
            return f"COALESCE({v} {COMPARISONS[component]} {sparql_term(value)}, false)"
        if component in (SH.minLength, SH.maxLength):
            operator = ">=" if component == SH.minLength else "<="
            return f"!isBlank({v}) && STRLEN(STR({v})) {operator} {_count(value)}"
        if component == SH.pattern:
            return f"!isBlank({v}) && REGEX(STR({v}), {sparql_string(str(value))})"
        if component in (SH["or"], SH["and"], SH.xone):
            conditions = [self.condition(m, v) for m in Collection(self.shapes, value)]
            if component == SH["or"]:
                return " || ".join(f"({m})" for m in conditions) or "false"
            if component == SH["and"]:
                return " && ".join(f"({m})" for m in conditions) or "true"
            return "(" + " + ".join(f"IF({m}, 1, 0)" for m in conditions) + ") = 1"
        if component == SH["not"]:
            return f"!({self.condition(value, v)})"
        if component == SH.node:
            if (value, SH.sparql, None) in self.shapes:
                raise Unsupported("sh:node with a shape that has SPARQL constraints")
            return self.condition(value, v)
        raise Unsupported(str(component))

    # --- queries --------------------------------------------------------------------------

    def queries(self) -> Iterator[tuple[str, dict]]:
        """Yield (query, what a row means) for every constraint of every active shape."""
        for shape in sorted(self._shapes_with_targets(), key=str):
            target = self.targets(shape)
            yield from self._shape_queries(shape, target, is_property=self._is_property(shape))
            for prop in sorted(self.shapes.objects(shape, SH.property), key=str):
                yield from self._shape_queries(prop, target, is_property=True)

    def _shapes_with_targets(self) -> set:
        predicates = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
        found = {s for p in predicates for s in self.shapes.subjects(p, None)}
        for kind in (SH.NodeShape, SH.PropertyShape):
            for shape in self.shapes.subjects(RDF.type, kind):
                if (shape, RDF.type, RDFS.Class) in self.shapes:
                    found.add(shape)
        if any(self.shapes.subjects(SH.target, None)):
            raise Unsupported("SPARQL-based targets (sh:target)")
        return found

    def _is_property(self, shape) -> bool:
        return (shape, SH.path, None) in self.shapes

    def _deactivated(self, node) -> bool:
        value = self.shapes.value(node, SH.deactivated)
        return value is not None and value.toPython() is True

    def _shape_queries(self, shape, target: str | None, is_property: bool):
        if target is None or self._deactivated(shape):
            return
        severity = self.shapes.value(shape, SH.severity) or SH.Violation
        messages = list(self.shapes.objects(shape, SH.message))
        meaning = {"shape": shape, "severity": severity, "messages": messages}
        path_node = self.shapes.value(shape, SH.path) if is_property else None
        values = (
            f"?this {self.path(path_node)} ?value ." if is_property else "BIND(?this AS ?value)"
        )
        for predicate, value in sorted(self.shapes.predicate_objects(shape)):
            if predicate in DESCRIPTIVE or predicate in (
                SH.qualifiedMinCount,
                SH.qualifiedMaxCount,
            ):
                continue
            if predicate == SH.qualifiedValueShapesDisjoint:
                if _is_true(value):
                    raise Unsupported("sh:qualifiedValueShapesDisjoint")
                continue
            if predicate in PROPERTY_ONLY and not is_property:
                raise Unsupported(f"{predicate} on a node shape")
            if predicate == SH.flags:
                raise Unsupported("sh:flags")
            info = {**meaning, "path": path_node}
            if predicate == SH.hasValue and is_property:
                condition = (
                    f"?this {self.path(path_node)} ?v FILTER(sameTerm(?v, {sparql_term(value)}))"
                )
                query = f"SELECT ?this WHERE {{ {target} FILTER NOT EXISTS {{ {condition} }} }}"
                yield query, {**info, "component": SH.HasValueConstraintComponent}
            elif predicate in VALUE_COMPONENTS:
                check = self.component_condition(predicate, value, "?value")
                query = (
                    f"SELECT DISTINCT ?this ?value WHERE {{ {target} {values} FILTER(!({check})) }}"
                )
                yield query, {**info, "component": VALUE_COMPONENTS[predicate]}
            elif predicate in (SH.minCount, SH.maxCount):
                query, component = self._count_query(predicate, _count(value), target, path_node)
                yield query, {**info, "component": component}
            elif predicate == SH.uniqueLang:
                if not _is_true(value):
                    continue
                path = self.path(path_node)
                query = (
                    f"SELECT DISTINCT ?this WHERE {{ {target} ?this {path} ?a, ?b . "
                    'FILTER(!sameTerm(?a, ?b) && LANG(?a) != "" '
                    "&& LCASE(LANG(?a)) = LCASE(LANG(?b))) }"
                )
                yield query, {**info, "component": SH.UniqueLangConstraintComponent}
            elif predicate == SH.qualifiedValueShape:
                yield from self._qualified_queries(shape, value, target, path_node, info)
            elif predicate == SH.closed:
                if _is_true(value):
                    raise Unsupported("sh:closed")
            else:
                raise Unsupported(str(predicate))
        if is_property and (shape, SH.property, None) in self.shapes:
            raise Unsupported("sh:property inside a property shape")
        if not is_property:
            for constraint in self.shapes.objects(shape, SH.sparql):
                yield (
                    self._sparql_query(shape, constraint, target),
                    {
                        **meaning,
                        "component": SH.SPARQLConstraintComponent,
                        "path": None,
                        "sparql": constraint,
                    },
                )
        elif (shape, SH.sparql, None) in self.shapes:
            raise Unsupported("SPARQL constraints on a property shape")

    def _count_query(self, predicate, count: int, target: str, path_node) -> tuple[str, URIRef]:
        path = self.path(path_node)
        if predicate == SH.minCount:
            component = SH.MinCountConstraintComponent
            if count == 1:
                # OPTIONAL and !BOUND, not FILTER NOT EXISTS: Oxigraph answers it 10x faster.
                query = (
                    f"SELECT ?this WHERE {{ {target} OPTIONAL {{ ?this {path} ?v }} "
                    "FILTER(!BOUND(?v)) }"
                )
            else:
                query = (
                    f"SELECT ?this WHERE {{ {target} OPTIONAL {{ ?this {path} ?v }} }} "
                    f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) < {count})"
                )
        else:
            component = SH.MaxCountConstraintComponent
            query = (
                f"SELECT ?this WHERE {{ {target} ?this {path} ?v }} "
                f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) > {count})"
            )
        return query, component

    def _qualified_queries(self, shape, value_shape, target: str, path_node, info: dict):
        condition = self.condition(value_shape, "?v")
        path = self.path(path_node)
        for predicate, operator, component in (
            (SH.qualifiedMinCount, "<", SH.QualifiedMinCountConstraintComponent),
            (SH.qualifiedMaxCount, ">", SH.QualifiedMaxCountConstraintComponent),
        ):
            bound = self.shapes.value(shape, predicate)
            if bound is None:
                continue
            query = (
                f"SELECT ?this WHERE {{ {target} "
                f"OPTIONAL {{ ?this {path} ?v FILTER({condition}) }} }} "
                f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) {operator} {int(bound)})"
            )
            yield query, {**info, "component": component}

    def _prefixes(self, constraint) -> str:
        lines = []
        for declaring in self.shapes.objects(constraint, SH.prefixes):
            for declaration in self.shapes.objects(declaring, SH.declare):
                prefix = self.shapes.value(declaration, SH.prefix)
                namespace = self.shapes.value(declaration, SH.namespace)
                lines.append(f"PREFIX {prefix}: <{namespace}>")
        return "\n".join(sorted(set(lines)))

    def _sparql_query(self, shape, constraint, target: str) -> str:
        if self._deactivated(constraint):
            return "SELECT ?this WHERE { FILTER(false) }"
        select = self.shapes.value(constraint, SH.select)
        if select is None:
            raise Unsupported("a SPARQL constraint without sh:select")
        text = str(select)
        if re.search(r"\$(PATH|currentShape|shapesGraph)\b", text):
            raise Unsupported("$PATH, $currentShape or $shapesGraph in a SPARQL constraint")
        inner = re.sub(r"\$this\b", "?this", text)
        return f"{self._prefixes(constraint)}\nSELECT * WHERE {{ {target} {{ {inner} }} }}"


def validate(store: ox.Store, shapes: Graph, options: dict | None = None) -> list[Finding]:
    """Return every violation of the shapes by the data in ``store``.

    :param options: keyword arguments for ``store.query`` that choose the data graph, e.g.
        ``{"use_default_graph_as_union": True}``.
    """
    options = {"use_default_graph_as_union": True} if options is None else options
    compiler = ShapesCompiler(shapes, store, options)
    plan = list(compiler.queries())  # compile everything first: Unsupported before any work
    findings = []
    for query, meaning in plan:
        answer = store.query(query, **options)
        assert isinstance(answer, ox.QuerySolutions)  # every plan query is a SELECT
        for row in answer:
            findings.append(_finding(shapes, row, meaning))
    return findings


def _finding(shapes: Graph, row: ox.QuerySolution, meaning: dict) -> Finding:
    focus = row["this"]
    try:
        value = row["value"]
    except (KeyError, IndexError):
        value = None
    path = meaning.get("path")
    messages = list(meaning["messages"])
    constraint = meaning.get("sparql")
    if constraint is not None:
        try:
            bound_path = row["path"]
        except (KeyError, IndexError):
            bound_path = None
        if isinstance(bound_path, ox.NamedNode):
            path = URIRef(bound_path.value)
        own = list(shapes.objects(constraint, SH.message))
        messages = [
            _fill(message, row) for message in (own or messages) if isinstance(message, Literal)
        ]
        if value is None:
            value = focus
    return Finding(
        focus=focus,
        shape=meaning["shape"],
        component=meaning["component"],
        severity=meaning["severity"],
        path=path,
        value=value,
        messages=messages,
    )


def _fill(message: Literal, row: ox.QuerySolution) -> Literal:
    """Put the row's values into a message's {?name} and {$name} placeholders."""

    def replace(match: re.Match) -> str:
        try:
            term = row[match.group(1)]
        except (KeyError, IndexError):
            return match.group(0)
        if term is None:
            return match.group(0)
        return term.value if isinstance(term, ox.Literal | ox.NamedNode) else str(term)

    text = re.sub(r"\{[?$](\w+)\}", replace, str(message))
    return Literal(text, lang=message.language)
