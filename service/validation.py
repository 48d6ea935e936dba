"""Validate the dataset against its SHACL shapes; a violation is a result, not a crash."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import pyoxigraph as ox
import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH, SKOS, XSD

from service import shacl_sparql
from service.dataset import LoadedDataset, SourceFile, stream_quads
from service.i18n import translate_to
from service.namespaces import GRAPH_BASE, PREFIXES, compact
from service.terms import Term, literal

log = logging.getLogger(__name__)

DATA_ROLES = ("ontology", "graph_data")
REPORT_FILE = "zigraph-validation.json"  # beside the store: validated once, read by every page
SHAPES_GRAPHS = GRAPH_BASE + "shapes/"


def to_rdflib(term: Term) -> URIRef | BNode | Literal:
    """Return the rdflib term equal to a pyoxigraph term; raise ValueError for a triple term."""
    if isinstance(term, ox.Triple):
        raise ValueError(f"pySHACL cannot validate data holding a triple term: {term}")
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == str(XSD.string):
        return Literal(term.value)  # rdflib spells xsd:string literals without a datatype
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def to_graph(quads: Iterable[ox.Quad]) -> Graph:
    """Return an rdflib graph holding the union of the quads' triples."""
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    for quad in quads:
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph


@dataclass
class ValidationResult:
    """One result of the report: which node broke which rule, and the rule's message."""

    focus: str
    focus_label: dict[str, str]
    path: str | None
    value: str | None
    severity: str
    source_shape: str
    messages: dict[str, str] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        """Return the message in ``lang``, else Indonesian, English or any."""
        for key in (lang, "id", "en", ""):
            if key in self.messages:
                return self.messages[key]
        return next(iter(self.messages.values()), "")

    def label(self, lang: str) -> str:
        """Return the focus node's label in ``lang``, else Indonesian, English, any, or ''."""
        for key in (lang, "id", "en", ""):
            if key in self.focus_label:
                return self.focus_label[key]
        return next(iter(self.focus_label.values()), "")


@dataclass
class Report:
    """The outcome of a validation: conformance, the results and the report graph."""

    conforms: bool
    results: list[ValidationResult]
    graph: Graph
    checked_triples: int
    validated: str = ""  # the data validated, when not the shipped files: the store's URL
    engine: str = "pySHACL"  # or "SPARQL" (service.shacl_sparql)

    def text(self, lang: str = "id") -> str:
        """Return the report as readable text in ``lang`` (id or en)."""

        def word(key: str, **values: object) -> str:
            return translate_to(lang, key, **values)

        if self.conforms:
            return word("validation_report_conforms", n=self.checked_triples) + "\n"
        lines = [word("validation_report_violations", n=len(self.results)), ""]
        for number, result in enumerate(self.results, 1):
            label = result.label(lang)
            focus = f"{label} <{result.focus}>" if label else f"<{result.focus}>"
            lines.append(f"{number}. [{result.severity}] {result.message(lang)}")
            lines.append(f"   {word('validation_focus')}: {focus}")
            if result.path:
                lines.append(f"   {word('validation_path')}: {result.path}")
            if result.value:
                lines.append(f"   {word('validation_value')}: {result.value}")
            lines.append(f"   {word('validation_shape')}: {result.source_shape}")
        return "\n".join(lines) + "\n"

    def json(self, lang: str = "id") -> str:
        """Return the report as JSON for programs, messages in ``lang``."""
        results = []
        for result in self.results:
            item = asdict(result)
            item["message"] = result.message(lang)
            results.append(item)
        document = {"conforms": self.conforms, "violations": len(self.results), "results": results}
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"

    def turtle(self) -> str:
        """Return the SHACL validation report graph as Turtle."""
        return self.graph.serialize(format="turtle")

    def dumps(self) -> str:
        """Return the report as the JSON document :meth:`save` writes and :meth:`loads` reads."""
        document = {
            "conforms": self.conforms,
            "checked_triples": self.checked_triples,
            "validated": self.validated,
            "engine": self.engine,
            "results": [asdict(result) for result in self.results],
            "graph": self.turtle(),
        }
        return json.dumps(document, ensure_ascii=False)

    def save(self, folder: Path) -> None:
        """Write the report into a folder (the store's), for every web process to read."""
        path = folder / REPORT_FILE
        partial = path.with_suffix(".partial")
        partial.write_text(self.dumps())
        partial.replace(path)  # readers see the old report or the new, never half of one

    @classmethod
    def load(cls, folder: Path) -> Report | None:
        """Return the report saved in a folder, or None when there is none."""
        try:
            return cls.loads((folder / REPORT_FILE).read_text())
        except (OSError, ValueError):
            return None

    @classmethod
    def loads(cls, text: str) -> Report:
        """Return the report of a JSON document :meth:`dumps` wrote; raise ValueError if none."""
        document = json.loads(text)
        graph = Graph().parse(data=document["graph"], format="turtle")
        results = [ValidationResult(**result) for result in document["results"]]
        return cls(
            document["conforms"],
            results,
            graph,
            document["checked_triples"],
            validated=document.get("validated", ""),
            engine=document.get("engine", "pySHACL"),
        )


def _compact(term) -> str:
    if isinstance(term, URIRef):
        shown = compact(str(term))
        return shown if shown != str(term) else f"<{shown}>"
    if isinstance(term, Literal):
        return term.n3()
    return "[]" if isinstance(term, BNode) else str(term)


def _path(report: Graph, path) -> str | None:
    if path is None:
        return None
    if isinstance(path, BNode):  # a complex path: show its first step, which names the property
        for _, predicate, value in report.triples((path, None, None)):
            return f"{_compact(predicate)} {_compact(value)}"
        return "[]"
    return _compact(path)


def _labels(data: Graph, node) -> dict[str, str]:
    labels: dict[str, str] = {}
    for label in data.objects(node, SKOS.prefLabel):
        labels.setdefault(getattr(label, "language", None) or "", str(label))
    return labels


def _template(message: str) -> re.Pattern[str]:
    """Return a pattern matching the messages filled in from an sh:message template."""
    return re.compile(re.sub(r"\\\{\\[?$]\w+\\\}", "(?s:.*)", re.escape(message)))


def _messages(report: Graph, shapes: Graph, result) -> dict[str, str]:
    """Return a result's messages by language, the rule's own before its node shape's.

    pySHACL drops the language tag of the messages it fills in for SHACL-SPARQL rules
    ("{?value} …"); each one takes the language of the template it was filled in from.
    """
    sources = [report.value(result, SH.sourceConstraint), report.value(result, SH.sourceShape)]
    templates = [
        (_template(str(template)), getattr(template, "language", None) or "")
        for source in sources
        if source is not None
        for template in sorted(
            {*report.objects(source, SH.message), *shapes.objects(source, SH.message)}, key=str
        )
    ]
    ranked = []
    for message in report.objects(result, SH.resultMessage):
        rank, lang = next(
            (
                (rank, lang)
                for rank, (pattern, lang) in enumerate(templates)
                if pattern.fullmatch(str(message))
            ),
            (len(templates), ""),
        )
        ranked.append((rank, getattr(message, "language", None) or lang, str(message)))
    messages: dict[str, str] = {}
    for _, lang, text in sorted(ranked):
        messages.setdefault(lang, text)
    return messages


def validate_graphs(data: Graph, shapes: Graph) -> Report:
    """Validate a data graph against a shapes graph with pySHACL, the reference engine."""
    conforms, report_graph, _ = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="none",
        advanced=True,
        allow_warnings=False,
    )
    results = _results(report_graph, shapes, lambda focus: _labels(data, focus))
    return Report(bool(conforms), results, report_graph, len(data))


def _results(report_graph: Graph, shapes: Graph, labels: Callable) -> list[ValidationResult]:
    """Return the results of a SHACL report graph, sorted by focus node and rule."""
    results = []
    # The report's own results; those nested in them (sh:detail, from sh:node) explain them.
    for node in report_graph.objects(None, SH.result):
        focus = report_graph.value(node, SH.focusNode)
        value = report_graph.value(node, SH.value)
        severity = report_graph.value(node, SH.resultSeverity)
        results.append(
            ValidationResult(
                focus=str(focus),
                focus_label=labels(focus),
                path=_path(report_graph, report_graph.value(node, SH.resultPath)),
                value=_compact(value) if value is not None else None,
                severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                source_shape=_compact(report_graph.value(node, SH.sourceShape)),
                messages=_messages(report_graph, shapes, node),
            )
        )
    results.sort(key=lambda r: (r.focus, r.source_shape, r.path or "", r.value or ""))
    return results


def store_of(quads: Iterable[ox.Quad]) -> tuple[ox.Store, str | None]:
    """Return a store in memory holding the quads' triples, and a datatype it lost on the way.

    The triples go into the default graph, one copy each whatever the graphs that hold them,
    as they do into pySHACL's data graph: both engines count the same triples checked.
    Oxigraph stores derived integer types (xsd:nonNegativeInteger, …) as xsd:integer; the
    second value names the first such datatype met, or is None.
    """
    rewritten = {str(datatype) for datatype in shacl_sparql.REWRITTEN_DATATYPES}
    lost: list[str] = []

    def watched() -> Iterable[ox.Quad]:
        for quad in quads:
            if not lost and isinstance(quad.object, ox.Literal):
                if quad.object.datatype.value in rewritten:
                    lost.append(quad.object.datatype.value)
            yield ox.Quad(quad.subject, quad.predicate, quad.object)

    store = ox.Store()
    store.bulk_extend(watched())
    return store, (lost[0] if lost else None)


def validate_store(
    store: ox.Store,
    shapes: Graph,
    data: Callable[[], Iterable[ox.Quad]],
    options=None,
    lost_datatype: str | None = None,
) -> Report:
    """Validate the data in a store: with SPARQL queries when the shapes allow, else pySHACL.

    :param data: returns the data's quads again, for pySHACL when the shapes use something
        the SPARQL engine does not evaluate.
    :param options: keyword arguments of ``store.query`` that choose the data graph.
    :param lost_datatype: a datatype of the data that the store rewrote (see
        :func:`store_of`); the SPARQL engine cannot check it, so pySHACL validates.
    """
    options = {"use_default_graph_as_union": True} if options is None else options
    try:
        if lost_datatype is not None:
            raise shacl_sparql.Unsupported(f"data typed {lost_datatype} (stored as xsd:integer)")
        findings = shacl_sparql.validate(store, shapes, options)
    except shacl_sparql.Unsupported as reason:
        log.warning("validating with pySHACL: the SPARQL engine does not evaluate %s", reason)
        return validate_graphs(to_graph(data()), shapes)
    report_graph = _report_graph(findings, shapes)
    counted = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **options)
    assert isinstance(counted, ox.QuerySolutions)  # a SELECT query's answer
    count = next(iter(counted))

    def labels(focus) -> dict[str, str]:
        if not isinstance(focus, URIRef):
            return {}
        found: dict[str, str] = {}
        query = f"SELECT ?label WHERE {{ <{focus}> <{SKOS.prefLabel}> ?label }}"
        answer = store.query(query, **options)
        assert isinstance(answer, ox.QuerySolutions)  # a SELECT query's answer
        for row in answer:
            label = literal(row["label"])
            found.setdefault(label.language or "", label.value)
        return found

    results = _results(report_graph, shapes, labels)
    return Report(not findings, results, report_graph, int(count["n"].value), engine="SPARQL")


def _report_graph(findings: list[shacl_sparql.Finding], shapes: Graph) -> Graph:
    """Return the SHACL validation report graph of the findings."""
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    report = BNode()
    graph.add((report, RDF.type, SH.ValidationReport))
    graph.add((report, SH.conforms, Literal(not findings)))
    for finding in findings:
        node = BNode()
        graph.add((report, SH.result, node))
        graph.add((node, RDF.type, SH.ValidationResult))
        graph.add((node, SH.focusNode, to_rdflib(finding.focus)))
        graph.add((node, SH.sourceShape, finding.shape))
        graph.add((node, SH.sourceConstraintComponent, finding.component))
        graph.add((node, SH.resultSeverity, finding.severity))
        if finding.path is not None:
            graph.add((node, SH.resultPath, _copy(shapes, finding.path, graph)))
        if finding.value is not None:
            graph.add((node, SH.value, to_rdflib(finding.value)))
        for message in finding.messages or [Literal(_default_message(finding), lang="en")]:
            graph.add((node, SH.resultMessage, message))
    return graph


def _default_message(finding: shacl_sparql.Finding) -> str:
    """Return a message for a rule that gives none: the constraint component it breaks."""
    component = str(finding.component).rsplit("#", 1)[-1].removesuffix("ConstraintComponent")
    return f"{component} constraint not met"


def _copy(source: Graph, node, target: Graph):
    """Copy a path node, with the blank nodes it is made of, from one graph to another."""
    if isinstance(node, BNode):
        for predicate, value in source.predicate_objects(node):
            target.add((node, predicate, _copy(source, value, target)))
    return node


ENGINES = ("auto", "pyshacl")


def validate(
    source: list[SourceFile] | LoadedDataset | Iterable[ox.Quad], engine: str = "auto"
) -> Report:
    """Validate a dataset's ontology and data against its shapes: the one entry point.

    :param source: the dataset's files (streamed, never held whole in Python), a loaded
        dataset, or the quads a store serves (the graphs under ``SHAPES_GRAPHS`` hold the
        shapes, the others the data).
    :param engine: ``auto`` validates with SPARQL queries (:mod:`service.shacl_sparql`)
        whenever that engine can evaluate the shapes and the data's datatypes, and with
        pySHACL otherwise, saying why in the log. The size of the data does not enter the
        choice: the SPARQL engine is the faster at every size (0.15 s against pySHACL's 1.2 s
        on the shipped thousand triples; minutes against seconds at ten thousand), and the
        shape tests hold it to pySHACL's results. ``pyshacl`` asks for the reference engine.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown validation engine {engine!r}; expected one of {ENGINES}")
    shapes, data = _shapes_and_data(source)
    if engine == "pyshacl":
        return validate_graphs(to_graph(data()), shapes)
    store, lost = store_of(data())
    return validate_store(store, shapes, data, lost_datatype=lost)


def _shapes_and_data(
    source: list[SourceFile] | LoadedDataset | Iterable[ox.Quad],
) -> tuple[Graph, Callable[[], Iterable[ox.Quad]]]:
    """Return a source's shapes graph and a function that yields its data's quads (again)."""
    if isinstance(source, LoadedDataset):
        return to_graph(source.graph_quads("shapes")), lambda: source.graph_quads(*DATA_ROLES)
    if isinstance(source, list) and all(isinstance(f, SourceFile) for f in source):
        files = cast(list[SourceFile], source)
        shapes = to_graph(stream_quads([f for f in files if f.role == "shapes"]))
        data_files = [f for f in files if f.role in DATA_ROLES]
        return shapes, lambda: stream_quads(data_files)
    quads = list(cast(Iterable[ox.Quad], source))
    is_shapes = [
        isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value.startswith(SHAPES_GRAPHS)
        for q in quads
    ]
    shapes = to_graph(q for q, shape in zip(quads, is_shapes, strict=True) if shape)
    return shapes, lambda: (q for q, shape in zip(quads, is_shapes, strict=True) if not shape)
