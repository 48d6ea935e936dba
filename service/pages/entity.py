"""Dereferenceable IRIs: /id/{path} answers 303 to /doc/{path}, an HTML page or RDF."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from service import resources
from service.export import FORMATS, RdfSerialization, serialize_triples
from service.namespaces import DCTERMS, OA, PROV, RDF
from service.pages import charts
from service.pages.labels import (
    DESCRIPTION_PROPERTIES,
    SOURCE_BASE,
    Labels,
    TermView,
    base_iri,
    link_for,
    pick_language,
    sparql_iri,
    term_view,
)
from service.store import get_store

bp = Blueprint("entity", __name__)

# The RDF a /doc/ page offers, by file suffix.
SUFFIXES: dict[str, RdfSerialization] = {
    "ttl": FORMATS["ttl"],
    "jsonld": FORMATS["jsonld"],
    "nt": FORMATS["nt"],
    "rdf": FORMATS["xml"],
}
HTML_TYPES = ("text/html", "application/xhtml+xml")
VALUES_PER_PAGE = 20
INCOMING_PER_PAGE = 30
CONTEXT_CHARS = 160
SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.txt$")


def entity_exists(iri: str) -> bool:
    """Return whether the store says anything about or pointing to the IRI."""
    try:
        node = sparql_iri(iri)
    except ValueError:
        return False
    return bool(get_store().query(f"ASK {{ {{ {node} ?p ?o }} UNION {{ ?s ?p {node} }} }}").boolean)


def describe(iri: str) -> list[ox.Triple]:
    """Return the IRI's outgoing triples, their blank nodes' and the provenance they cite."""
    node = sparql_iri(iri)
    blank = "FILTER(isBlank(?s))"
    result = get_store().query(
        f"""SELECT DISTINCT ?s ?p ?o WHERE {{
  {{ BIND({node} AS ?s) }}
  UNION {{ {node} ?a ?s {blank} }}
  UNION {{ {node} ?a ?b . FILTER(isBlank(?b)) ?b ?c ?s {blank} }}
  UNION {{ {node} <{PROV.wasDerivedFrom}> ?s }}
  UNION {{ {node} <{PROV.wasDerivedFrom}> ?d . ?d ?e ?s FILTER(isBlank(?s)
           || ?e = <{OA.hasSelector}>) }}
  ?s ?p ?o
}}"""
    )
    return [ox.Triple(row[0], row[1], row[2]) for row in result.rows]


def rdf_response(triples: list[ox.Triple], fmt: RdfSerialization) -> Response:
    """Return triples serialized in ``fmt`` as the response body."""
    charset = "" if fmt.media_type == "application/n-triples" else "; charset=utf-8"
    response = Response(serialize_triples(triples, fmt), content_type=fmt.media_type + charset)
    response.vary.add("Accept")
    return response


def negotiate() -> RdfSerialization | None:
    """Return the RDF format the client prefers, None for HTML; abort 406 when neither fits."""
    offers = [*HTML_TYPES, *(f.media_type for f in SUFFIXES.values())]
    if not request.accept_mimetypes:
        return None
    best = request.accept_mimetypes.best_match(offers)
    if best is None:
        abort(406)
    if best in HTML_TYPES:
        return None
    return next(f for f in SUFFIXES.values() if f.media_type == best)


def not_found(what: str) -> tuple[str, int]:
    """Return the helpful 404 page for an IRI or path we hold no data about."""
    return render_template("pages/not_found.html", what=what), 404


@bp.route("/id/<path:path>")
def identifier(path: str):
    """Answer an entity IRI with 303 See Other to its document, or 404 if we know nothing."""
    if not entity_exists(base_iri() + path):
        return not_found(base_iri() + path)
    return redirect(url_for("entity.doc", path=path), 303)


@bp.route("/doc/<path:path>")
def doc(path: str):
    """Answer an entity's document: HTML for browsers, RDF by Accept or by suffix."""
    iri = base_iri() + path
    fmt = None
    if not entity_exists(iri):
        stem, _, suffix = path.rpartition(".")
        if suffix in SUFFIXES and stem and entity_exists(base_iri() + stem):
            iri, fmt = base_iri() + stem, SUFFIXES[suffix]
        else:
            return not_found(iri)
    else:
        fmt = negotiate()
    if fmt is not None:
        return rdf_response(describe(iri), fmt)
    context = entity_context(iri, path)
    response = Response(render_template("pages/entity.html", **context))
    response.vary.add("Accept")
    response.headers["Link"] = ", ".join(
        f'<{href}>; rel="alternate"; type="{media_type}"'
        for _, href, media_type in context["downloads"]
    )
    return response


@bp.route("/source/<name>")
def source_text(name: str):
    """Serve the text of a source document as plain text."""
    path = source_file(SOURCE_BASE + name)
    if path is None:
        return not_found(SOURCE_BASE + name)
    return Response(read_source(SOURCE_BASE + name), mimetype="text/plain")


def source_file(text_iri: str) -> Path | None:
    """Return the file holding a source document's text, or None when we do not have it."""
    if not text_iri.startswith(SOURCE_BASE):
        return None
    name = text_iri[len(SOURCE_BASE) :]
    if not SOURCE_NAME.match(name):
        return None
    store = get_store()
    # The source texts beside the data `zigraph serve --data` was given, then the shipped ones.
    folders = store.metadata().get("source_folders", []) if store.name == "embedded" else []
    for folder in [*map(Path, folders), resources.folder("graph_data") / "sources"]:
        path = folder / name
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=16)
def _read_text(path: Path, _mtime: float) -> str:
    return path.read_text(encoding="utf-8")


def read_source(text_iri: str) -> str | None:
    """Return a source document's text, or None."""
    path = source_file(text_iri)
    return _read_text(path, path.stat().st_mtime) if path else None


# --- the page ---------------------------------------------------------------------------


@dataclass
class Statement:
    """One property of the entity and (a page of) its values."""

    prop: TermView
    values: list[TermView]
    nested: dict[str, list[tuple[TermView, TermView]]]
    total: int
    first: int
    next_url: str | None = None
    previous_url: str | None = None


@dataclass
class Quote:
    """A passage quoted in its context: before, the exact words, after."""

    before: str
    exact: str
    after: str
    start: int | None = None
    end: int | None = None


@dataclass
class Evidence:
    """A fact on the page and the passage of the source it was read from."""

    fact: TermView
    passage: TermView
    source: TermView | None
    quote: Quote | None
    anchor: str


@dataclass
class Incoming:
    """The subjects linking to the entity through one property (on the current page)."""

    prop: TermView
    subjects: list[TermView] = field(default_factory=list)


def _statements(iri: str, triples: list[ox.Triple], labels: Labels) -> list[Statement]:
    subject = ox.NamedNode(iri)
    by_property: dict[str, list] = {}
    nested_triples: dict[str, list[ox.Triple]] = {}
    for triple in triples:
        if triple.subject == subject:
            by_property.setdefault(triple.predicate.value, []).append(triple.object)
        elif isinstance(triple.subject, ox.BlankNode):
            nested_triples.setdefault(triple.subject.value, []).append(triple)
    wanted_property = request.args.get("property")
    page = _page_number("vpage")
    statements = []
    for prop, objects in by_property.items():
        views = sorted(
            (term_view(o, labels) for o in objects),
            key=lambda v: (v.kind != "iri", v.text.casefold(), v.language or "", v.value),
        )
        current = page if prop == wanted_property else 1
        first = (current - 1) * VALUES_PER_PAGE
        shown = views[first : first + VALUES_PER_PAGE]
        nested = {
            v.value: [
                (_property_view(t.predicate.value, labels), term_view(t.object, labels))
                for t in sorted(nested_triples.get(v.value, []), key=str)
            ]
            for v in shown
            if v.kind == "bnode"
        }
        statement = Statement(_property_view(prop, labels), shown, nested, len(views), first + 1)
        if first + VALUES_PER_PAGE < len(views):
            statement.next_url = _url_with_page(prop, current + 1)
        if current > 1:
            statement.previous_url = _url_with_page(prop, current - 1)
        statements.append(statement)
    statements.sort(key=lambda s: (s.prop.value != str(RDF.type), s.prop.text.casefold()))
    return statements


def _url_with_page(prop: str, page: int) -> str:
    from service.pages import url_with

    return url_with(property=prop, vpage=page) + "#statements"


def _property_view(iri: str, labels: Labels) -> TermView:
    link = link_for(iri)
    return TermView("iri", iri, labels.of_property(iri), link.href, link.external, title=iri)


def _page_number(name: str) -> int:
    try:
        return max(1, int(request.args.get(name, "1")))
    except ValueError:
        return 1


def _incoming(iri: str, labels: Labels) -> tuple[list[Incoming], int, int, int]:
    node = sparql_iri(iri)
    store = get_store()
    count = store.query(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?p WHERE {{ ?s ?p {node} }} }}"
    )
    total = int(count.rows[0][0].value) if count.rows else 0
    pages = max(1, -(-total // INCOMING_PER_PAGE))
    page = min(_page_number("ipage"), pages)
    rows = store.query(
        f"SELECT DISTINCT ?s ?p WHERE {{ ?s ?p {node} }} ORDER BY ?p ?s "
        f"LIMIT {INCOMING_PER_PAGE} OFFSET {(page - 1) * INCOMING_PER_PAGE}"
    ).rows
    labels.fetch(t.value for row in rows for t in row if isinstance(t, ox.NamedNode))
    groups: dict[str, Incoming] = {}
    for subject, prop in rows:
        group = groups.setdefault(prop.value, Incoming(_property_view(prop.value, labels)))
        group.subjects.append(term_view(subject, labels))
    for group in groups.values():
        group.subjects.sort(key=lambda v: v.text.casefold())
    return list(groups.values()), total, page, pages


def quote_in_context(
    text: str | None,
    exact: str | None,
    prefix: str,
    suffix: str,
    start: int | None,
    end: int | None,
) -> Quote | None:
    """Return the quoted words in context: a window of the source text, else prefix and suffix."""
    if text is not None and start is not None and end is not None and 0 <= start < end <= len(text):
        if exact is None or text[start:end] == exact:
            before_start = max(0, start - CONTEXT_CHARS)
            after_end = min(len(text), end + CONTEXT_CHARS)
            before = ("…" if before_start else "") + text[before_start:start]
            after = text[end:after_end] + ("…" if after_end < len(text) else "")
            return Quote(before, text[start:end], after, start, end)
    if exact is None:
        return None
    return Quote(
        ("…" + prefix) if prefix else "", exact, (suffix + "…") if suffix else "", start, end
    )


def _int(term: ox.Literal | None) -> int | None:
    try:
        return int(term.value) if term is not None else None
    except ValueError:
        return None


def _evidence(iri: str, labels: Labels) -> list[Evidence]:
    node = sparql_iri(iri)
    result = get_store().query(
        f"""SELECT DISTINCT ?fact ?passage ?source ?text ?exact ?prefix ?suffix ?start ?end WHERE {{
  {{ BIND({node} AS ?fact) }} UNION {{ ?fact ?link {node} FILTER(isIRI(?fact)) }}
  ?fact <{PROV.wasDerivedFrom}> ?passage .
  OPTIONAL {{ ?passage <{OA.hasSource}> ?source .
             OPTIONAL {{ ?source <{DCTERMS.hasFormat}> ?text }} }}
  OPTIONAL {{ ?passage <{OA.hasSelector}> ?q . ?q <{OA.exact}> ?exact .
             OPTIONAL {{ ?q <{OA.prefix}> ?prefix }} OPTIONAL {{ ?q <{OA.suffix}> ?suffix }} }}
  OPTIONAL {{ ?passage <{OA.hasSelector}> ?r . ?r <{OA.start}> ?start ; <{OA.end}> ?end }}
}}"""
    )
    rows = result.dicts()
    labels.fetch(t.value for row in rows for t in row.values() if isinstance(t, ox.NamedNode))
    seen: dict[tuple[str, str], Evidence] = {}
    for row in rows:
        key = (row["fact"].value, row["passage"].value)
        if key in seen and seen[key].quote is not None:
            continue
        text_iri = row.get("text")
        text = read_source(text_iri.value) if isinstance(text_iri, ox.NamedNode) else None
        quote = quote_in_context(
            text,
            row["exact"].value if "exact" in row else None,
            row["prefix"].value if "prefix" in row else "",
            row["suffix"].value if "suffix" in row else "",
            _int(row.get("start")),
            _int(row.get("end")),
        )
        source = row.get("source")
        seen[key] = Evidence(
            fact=term_view(row["fact"], labels),
            passage=term_view(row["passage"], labels),
            source=term_view(source, labels) if source is not None else None,
            quote=quote,
            anchor="passage-" + re.sub(r"[^A-Za-z0-9_-]", "-", row["passage"].value[-60:]),
        )
    return sorted(
        seen.values(),
        key=lambda e: (
            e.fact.value != iri,
            e.fact.text.casefold(),
            e.quote.start if e.quote and e.quote.start is not None else 0,
        ),
    )


@dataclass
class Segment:
    """A piece of a source text, highlighted when a passage quotes it."""

    text: str
    passage: TermView | None = None


def _source_segments(triples: list[ox.Triple], iri: str, labels: Labels) -> list[Segment]:
    """Return the entity's source text cut into plain and quoted pieces, if it has one."""
    text_iris = [
        t.object.value
        for t in triples
        if t.subject == ox.NamedNode(iri) and t.predicate == ox.NamedNode(str(DCTERMS.hasFormat))
    ]
    text = next((read_source(t) for t in text_iris if read_source(t) is not None), None)
    if text is None:
        return []
    node = sparql_iri(iri)
    result = get_store().query(
        f"""SELECT DISTINCT ?passage ?start ?end WHERE {{
  ?passage <{OA.hasSource}> {node} ; <{OA.hasSelector}> ?r .
  ?r <{OA.start}> ?start ; <{OA.end}> ?end
}} ORDER BY ?start"""
    )
    labels.fetch(
        row["passage"].value for row in result.dicts() if isinstance(row["passage"], ox.NamedNode)
    )
    segments, position = [], 0
    for row in result.dicts():
        start, end = _int(row["start"]), _int(row["end"])
        if start is None or end is None or start < position or not 0 <= start < end <= len(text):
            continue
        segments.append(Segment(text[position:start]))
        segments.append(Segment(text[start:end], term_view(row["passage"], labels)))
        position = end
    segments.append(Segment(text[position:]))
    return segments


def json_ld_script(triples: list[ox.Triple]) -> Markup:
    """Return the triples as JSON-LD safe inside a <script> element: no raw <, > or &."""
    document = json.loads(serialize_triples(triples, FORMATS["jsonld"]))
    text = json.dumps(document, ensure_ascii=False, indent=1)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - every markup character is escaped above


def entity_context(iri: str, path: str) -> dict:
    """Return everything the entity page shows about an IRI."""
    from service.pages.ontology import conformance

    triples = describe(iri)
    labels = Labels()
    labels.fetch(
        [iri]
        + [t.predicate.value for t in triples]
        + [t.object.value for t in triples if isinstance(t.object, ox.NamedNode)]
    )
    subject = ox.NamedNode(iri)
    types = sorted(
        (
            term_view(t.object, labels)
            for t in triples
            if t.subject == subject and t.predicate == ox.NamedNode(str(RDF.type))
        ),
        key=lambda v: v.text.casefold(),
    )
    descriptions = [
        (t.object.value, t.object.language or "")
        for prop in DESCRIPTION_PROPERTIES
        for t in triples
        if t.subject == subject and t.predicate.value == prop and isinstance(t.object, ox.Literal)
    ]
    incoming, incoming_total, incoming_page, incoming_pages = _incoming(iri, labels)
    statements = _statements(iri, triples, labels)
    return {
        "iri": iri,
        "path": path,
        "title": labels(iri),
        "alternatives": labels.alternatives(iri),
        "types": types,
        "description": pick_language(descriptions) if descriptions else None,
        "statements": statements,
        "incoming": incoming,
        "incoming_total": incoming_total,
        "incoming_page": incoming_page,
        "incoming_pages": incoming_pages,
        "evidence": _evidence(iri, labels),
        "segments": _source_segments(triples, iri, labels),
        "conformance": conformance(iri),
        "funnels": charts.funnels_for(iri),
        "timeline": charts.timeline_for(iri),
        "neighbourhood": charts.neighbourhood(
            iri, min(labels.alternatives(iri), key=len, default=labels(iri)), statements, incoming
        ),
        "downloads": [
            (name, url_for("entity.doc", path=f"{path}.{name}"), fmt.media_type)
            for name, fmt in SUFFIXES.items()
        ],
        "json_ld": json_ld_script(triples),
    }
