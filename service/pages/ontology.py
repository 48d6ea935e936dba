"""Documentation of the ontology and the shapes, and the data's conformance report."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, url_for

from service.error_handlers import error_response
from service.export import FORMATS, RdfSerialization
from service.i18n import format_date, get_language
from service.namespaces import DCTERMS, GRAPH_BASE, ONTOLOGY_IRI, OWL, RDF, RDFS, SH, SKOS, ZI
from service.negotiation import RDF_SUFFIXES, html_or_rdf, rdf_response
from service.page_cache import cached_page
from service.pages.common import not_found
from service.pages.labels import (
    SHAPES_NS,
    Labels,
    TermView,
    compact,
    link_for,
    local_name,
    pick_language,
    term_view,
)
from service.store import get_store
from service.terms import as_triple, term_value
from service.validation_report import report_facts, served_report

bp = Blueprint("ontology", __name__)

ONTOLOGY_GRAPHS = GRAPH_BASE + "ontology/"
SHAPES_GRAPHS = GRAPH_BASE + "shapes/"
CLASS_KINDS = (str(OWL.Class), str(RDFS.Class))
PROPERTY_KINDS = (
    str(OWL.ObjectProperty),
    str(OWL.DatatypeProperty),
    str(OWL.AnnotationProperty),
    str(RDF.Property),
)


def graph_triples(graph_prefix: str) -> list[ox.Triple]:
    """Return the triples of the named graphs whose IRI starts with ``graph_prefix``."""
    # The graphs are the query's dataset, not found by a filter on every quad (5.5 s at a
    # million triples), nor named in the query: a remote store is then sent these graphs
    # alone, not all of zigraph's (a million triples' 3,240 took the Oxigraph server 43-51 ms).
    graphs = [g for g in get_store().graphs() if g.startswith(graph_prefix)]
    if not graphs:
        return []
    result = get_store().query(
        "SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o }",
        default_graph_uris=graphs,
        named_graph_uris=graphs,
    )
    return [as_triple(row) for row in result.rows]


class Description:
    """The statements about each subject of a list of triples."""

    def __init__(self, triples: list[ox.Triple]) -> None:
        self.by_subject: dict[str, dict[str, list]] = {}
        for triple in triples:
            properties = self.by_subject.setdefault(term_value(triple.subject), {})
            properties.setdefault(triple.predicate.value, []).append(triple.object)

    def objects(self, subject: str, prop) -> list:
        """Return the objects of ``subject prop``, sorted."""
        return sorted(self.by_subject.get(subject, {}).get(str(prop), []), key=str)

    def text(self, subject: str, prop, lang: str) -> str | None:
        """Return the literal of ``subject prop`` in exactly the language ``lang``."""
        for value in self.objects(subject, prop):
            if isinstance(value, ox.Literal) and (value.language or "") == lang:
                return value.value
        return None

    def best_text(self, subject: str, prop) -> str | None:
        """Return the literal of ``subject prop`` in the reader's language, or a fallback."""
        values = [
            (v.value, v.language or "")
            for v in self.objects(subject, prop)
            if isinstance(v, ox.Literal)
        ]
        return pick_language(values) if values else None


# --- ontology ----------------------------------------------------------------------------


@dataclass
class TermDoc:
    """The documentation of one class or property."""

    iri: str
    anchor: str
    kind: TermView
    labels: dict[str, str | None]
    definitions: dict[str, str | None]
    relations: list[tuple[str, list[TermView]]]
    instances: int | None = None
    instances_href: str | None = None
    shapes: list[TermView] = field(default_factory=list)
    note: str | None = None  # its skos:scopeNote: what an alignment claims, or why it does not


def _instance_counts() -> dict[str, int]:
    """Return the members of each class of the data, its subclasses' included, as home counts."""
    return get_store().statistics()["data_classes"]["members"]


def _shapes_by_class() -> dict[str, list[str]]:
    rows = (
        get_store()
        .query(
            f"SELECT DISTINCT ?shape ?c WHERE {{ ?shape <{SH.targetClass}> ?c }} ORDER BY ?shape"
        )
        .rows
    )
    found: dict[str, list[str]] = {}
    for shape, target in rows:
        if isinstance(shape, ox.NamedNode):
            found.setdefault(term_value(target), []).append(shape.value)
    return found


def ontology_context() -> dict:
    """Return the ontology's documentation: its header, classes and properties."""
    triples = graph_triples(ONTOLOGY_GRAPHS)
    described = Description(triples)
    labels = Labels()
    labels.fetch(
        {term_value(t.subject) for t in triples}
        | {t.object.value for t in triples if isinstance(t.object, ox.NamedNode)}
    )
    counts = _instance_counts()
    shapes = _shapes_by_class()
    labels.fetch(s for found in shapes.values() for s in found)
    relations = {
        "class": (
            ("ontology_subclass_of", RDFS.subClassOf),
            ("ontology_equivalent", OWL.equivalentClass),
        ),
        "property": (
            ("ontology_subproperty_of", RDFS.subPropertyOf),
            ("ontology_equivalent", OWL.equivalentProperty),
            ("ontology_domain", RDFS.domain),
            ("ontology_range", RDFS.range),
        ),
    }
    classes, properties = [], []
    for subject, statements in sorted(described.by_subject.items()):
        if not subject.startswith(str(ZI)):
            continue
        kinds = [k.value for k in statements.get(str(RDF.type), [])]
        group = "class" if any(k in CLASS_KINDS for k in kinds) else None
        if group is None and any(k in PROPERTY_KINDS for k in kinds):
            group = "property"
        if group is None:
            continue
        kind = next(k for k in kinds if k in (CLASS_KINDS if group == "class" else PROPERTY_KINDS))
        doc = TermDoc(
            iri=subject,
            anchor=local_name(subject),
            kind=term_view(ox.NamedNode(kind), labels),
            labels={lang: described.text(subject, RDFS.label, lang) for lang in ("id", "en")},
            definitions={
                lang: described.text(subject, SKOS.definition, lang) for lang in ("id", "en")
            },
            relations=[
                (key, [term_view(o, labels) for o in described.objects(subject, prop)])
                for key, prop in relations[group]
                if described.objects(subject, prop)
            ],
            note=described.best_text(subject, SKOS.scopeNote),
        )
        if group == "class":
            doc.instances = counts.get(subject, 0)
            doc.instances_href = url_for("browse.class_page", iri=subject)
            doc.shapes = [term_view(ox.NamedNode(s), labels) for s in shapes.get(subject, [])]
            classes.append(doc)
        else:
            properties.append(doc)
    by_iri = {doc.iri: doc for doc in classes}
    children: dict[str, list[TermDoc]] = {}
    for doc in classes:
        for parent in described.objects(doc.iri, RDFS.subClassOf):
            if parent.value in by_iri and parent.value != doc.iri:
                children.setdefault(parent.value, []).append(doc)
    nested = {d.iri for docs in children.values() for d in docs}
    return {
        "iri": ONTOLOGY_IRI,
        "title": described.best_text(ONTOLOGY_IRI, DCTERMS.title)
        or described.best_text(ONTOLOGY_IRI, RDFS.label),
        "version": described.best_text(ONTOLOGY_IRI, OWL.versionInfo),
        "licences": [
            term_view(o, labels) for o in described.objects(ONTOLOGY_IRI, DCTERMS.license)
        ],
        "creators": [
            term_view(o, labels)
            for prop in (DCTERMS.creator, DCTERMS.contributor)
            for o in described.objects(ONTOLOGY_IRI, prop)
        ],
        "hierarchy": [d for d in classes if d.iri not in nested],
        "subclasses": children,
        "definition": described.best_text(ONTOLOGY_IRI, SKOS.definition)
        or described.best_text(ONTOLOGY_IRI, DCTERMS.description),
        "note": described.best_text(ONTOLOGY_IRI, SKOS.scopeNote),
        "classes": classes,
        "properties": properties,
        "downloads": _downloads("ontology.ontology_as"),
    }


def _downloads(endpoint: str) -> list[tuple[str, str, str]]:
    return [
        (name, url_for(endpoint, suffix=name), fmt.media_type) for name, fmt in RDF_SUFFIXES.items()
    ]


def _document(graph_prefix: str, template: str, context, fmt: RdfSerialization | None):
    if fmt is not None:
        return rdf_response(graph_triples(graph_prefix), fmt)
    response = Response(render_template(template, **context()))
    response.vary.add("Accept")
    return response


@bp.route("/ontology")
def ontology():
    """Document the ontology for people, or serve it as RDF by Accept."""
    return cached_page(
        lambda: _document(ONTOLOGY_GRAPHS, "pages/ontology.html", ontology_context, html_or_rdf())
    )


@bp.route("/ontology.<suffix>")
def ontology_as(suffix: str):
    """Serve the ontology in the format the suffix names."""
    if suffix not in RDF_SUFFIXES:
        return not_found(f"/ontology.{suffix}", machine=True)
    return _document(ONTOLOGY_GRAPHS, "", dict, RDF_SUFFIXES[suffix])


# --- shapes ------------------------------------------------------------------------------


@dataclass
class PropertyRule:
    """One property shape: the path, its constraints, name and message."""

    path: str
    path_link: TermView | None
    constraints: list[tuple[str, str]]
    name: str | None
    message: str | None


@dataclass
class ShapeDoc:
    """One node shape: targets, constraints and property rules."""

    iri: str
    anchor: str
    name: str | None
    message: str | None
    targets: list[tuple[str, TermView]]
    constraints: list[tuple[str, str]]
    rules: list[PropertyRule]


SHAPE_TEXT = {
    str(SH.name),
    str(SH.message),
    str(SH.description),
    str(RDF.type),
    str(SH.property),
    str(SH.path),
}
TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)


REPEATED_WORD = re.compile(r"\b(\w+)(?: \1\b)+", re.IGNORECASE)


def destutter(text: str | None) -> str | None:
    """Return a generated text without a word said twice in a row ("member count count")."""
    return REPEATED_WORD.sub(r"\1", text) if text else text


def _constraint_text(value) -> str:
    if isinstance(value, ox.NamedNode):
        return compact(value.value)
    if isinstance(value, ox.Literal):
        return value.value
    return "[…]"


def _constraints(described: Description, subject: str) -> list[tuple[str, str]]:
    statements = described.by_subject.get(subject, {})
    skip = SHAPE_TEXT | {str(t) for t in TARGETS}
    return [
        (compact(prop), ", ".join(_constraint_text(v) for v in sorted(values, key=str)))
        for prop, values in sorted(statements.items())
        if prop not in skip
    ]


def shapes_context() -> dict:
    """Return the shapes' documentation: each node shape with its property rules."""
    triples = graph_triples(SHAPES_GRAPHS)
    described = Description(triples)
    labels = Labels().fetch(t.object.value for t in triples if isinstance(t.object, ox.NamedNode))
    shapes = []
    for subject, statements in sorted(described.by_subject.items()):
        kinds = {k.value for k in statements.get(str(RDF.type), [])}
        if str(SH.NodeShape) not in kinds:
            continue
        rules = []
        for rule in described.objects(subject, SH.property):
            path = described.objects(rule.value, SH.path)
            path_term = path[0] if path else None
            rules.append(
                PropertyRule(
                    path=_constraint_text(path_term) if path_term is not None else "",
                    path_link=term_view(path_term, labels)
                    if isinstance(path_term, ox.NamedNode)
                    else None,
                    constraints=_constraints(described, rule.value),
                    name=destutter(described.best_text(rule.value, SH.name)),
                    message=destutter(described.best_text(rule.value, SH.message)),
                )
            )
        shapes.append(
            ShapeDoc(
                iri=subject,
                anchor=subject[len(SHAPES_NS) :]
                if subject.startswith(SHAPES_NS)
                else local_name(subject),
                name=destutter(described.best_text(subject, SH.name)),
                message=destutter(described.best_text(subject, SH.message)),
                targets=[
                    (compact(str(target)), term_view(value, labels))
                    for target in TARGETS
                    for value in described.objects(subject, target)
                ],
                constraints=_constraints(described, subject),
                rules=sorted(rules, key=lambda r: r.path),
            )
        )
    return {"shapes": shapes, "downloads": _downloads("ontology.shapes_as")}


@bp.route("/shapes")
def shapes():
    """Document the SHACL shapes, or serve them as RDF by Accept."""
    return cached_page(
        lambda: _document(SHAPES_GRAPHS, "pages/shapes.html", shapes_context, html_or_rdf())
    )


@bp.route("/shapes.<suffix>")
def shapes_as(suffix: str):
    """Serve the shapes in the format the suffix names."""
    if suffix not in RDF_SUFFIXES:
        return not_found(f"/shapes.{suffix}", machine=True)
    return _document(SHAPES_GRAPHS, "", dict, RDF_SUFFIXES[suffix])


# --- validation --------------------------------------------------------------------------


def conformance(iri: str) -> dict:
    """Return whether a node conforms, with the messages of the rules it breaks."""
    report = served_report()
    if report is None:
        return {"conforms": None, "messages": []}
    lang = get_language()
    broken = [r for r in report.results if r.focus == iri]
    return {
        "conforms": not broken,
        "messages": [(r.severity, r.message(lang), r.path) for r in broken],
    }


@bp.route("/validation")
def validation_page():
    """Show the current conformance report of the data against the shapes."""
    report = served_report()
    lang = get_language()
    rows = []
    for result in report.results if report is not None else []:
        link = link_for(result.focus)
        rows.append(
            {
                "focus": result.focus,
                "label": result.label(lang) or compact(result.focus),
                "href": link.href,
                "external": link.external,
                "path": result.path,
                "value": result.value,
                "severity": result.severity,
                "shape": result.source_shape,
                "message": result.message(lang),
            }
        )
    return render_template(
        "pages/validation.html", report=report, rows=rows, about=_validation_facts()
    )


def _validation_facts() -> dict:
    """Return what the report covers, its build time written in the reader's language."""
    facts = report_facts()
    built = facts["built"]
    return {
        **facts,
        "built_text": format_date(built[:10]) + built[10:16].replace("T", " ") if built else None,
    }


@bp.route("/validation.<suffix>")
def validation_as(suffix: str):
    """Serve the conformance report as Turtle or JSON."""
    report = served_report()
    if report is None:
        return error_response(
            404,
            "not-validated",
            "The served data was not validated (zigraph serve --no-validate).",
            "Run zigraph validate with the same --data, or serve without --no-validate.",
        )
    if suffix == "ttl":
        return Response(report.turtle(), content_type=FORMATS["ttl"].media_type + "; charset=utf-8")
    if suffix == "json":
        return Response(report.json(get_language()), content_type="application/json")
    return not_found(f"/validation.{suffix}", machine=True)
