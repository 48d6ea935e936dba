"""Dereferenceable IRIs: /id/{path} answers 303 to /doc/{path}, an HTML page or RDF."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from flask import Blueprint, Response, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from service import citations as ready_citations
from service import resources
from service.export import jsonld_document
from service.i18n import format_date, get_language
from service.namespaces import DCTERMS, OA, PROV, RDF, SCHEMA, ZI
from service.negotiation import RDF_SUFFIXES, html_or_rdf, rdf_response
from service.page_cache import cached_page
from service.pages import charts, document, summary
from service.pages.common import not_found
from service.pages.labels import (
    DESCRIPTION_PROPERTIES,
    SOURCE_BASE,
    Labels,
    TermView,
    base_iri,
    compact,
    link_for,
    local_name,
    pick_language,
    short_place,
    sparql_iri,
    term_view,
)
from service.pages.ontology import conformance
from service.pages.vocabulary import display_rank, inverse_of
from service.store import get_store
from service.terms import Term, bound, term_value
from service.urls import public_url

bp = Blueprint("entity", __name__)

VALUES_PER_PAGE = 20
INCOMING_PER_PAGE = 30  # subjects shown of each property linking to the entity
CONTEXT_CHARS = 160
SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.txt$")
# Names shorter than this match too many passages by accident ("Ya", "di").
SHORTEST_MENTION = 3


def entity_exists(iri: str) -> bool:
    """Return whether the store says anything about or pointing to the IRI."""
    try:
        node = sparql_iri(iri)
    except ValueError:
        return False
    return bool(get_store().query(f"ASK {{ {{ {node} ?p ?o }} UNION {{ ?s ?p {node} }} }}").boolean)


@bp.route("/id/<path:path>")
def identifier(path: str):
    """Answer an entity IRI with 303 See Other to its document, or 404 if we know nothing."""
    return cached_page(lambda: redirect_to_doc(path), revalidate=False)


def redirect_to_doc(path: str) -> BaseResponse:
    """Return the 303 from an entity IRI to its document, or 404 if we know nothing."""
    if not entity_exists(base_iri() + path):
        return not_found(base_iri() + path)
    return redirect(url_for("entity.doc", path=path), 303)


@bp.route("/doc/<path:path>")
def doc(path: str):
    """Answer an entity's document: HTML for browsers, RDF by Accept or by suffix."""
    return cached_page(lambda: render_doc(path))


def render_doc(path: str) -> Response:
    """Render an entity's document: HTML for browsers, RDF by Accept or by suffix."""
    iri = base_iri() + path
    fmt = None
    if not entity_exists(iri):
        stem, _, suffix = path.rpartition(".")
        if suffix in RDF_SUFFIXES and stem and entity_exists(base_iri() + stem):
            iri, path, fmt = base_iri() + stem, stem, RDF_SUFFIXES[suffix]
        else:
            return not_found(iri, machine=suffix in RDF_SUFFIXES)
    else:
        fmt = html_or_rdf()
    if fmt is not None:
        triples = document.entity_document(iri, public_url("entity.doc", path=path))
        return rdf_response(triples, fmt, document.used_prefixes(triples))
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


# --- provenance: the passages that support what the page says ---------------------------


@dataclass
class Quote:
    """A passage quoted in its context: before, the exact words, after."""

    before: str
    exact: str
    after: str
    start: int | None = None
    end: int | None = None


@dataclass
class Passage:
    """A passage of a source document, as the page cites it."""

    node: TermView
    number: str
    where: str  # where it is: "paragraf 4, kalimat 1", else its number
    short: str  # the same, short, for the marks in the article's text: "4.1"
    quote: Quote | None
    in_text: str | None  # the passage's place in its document's page
    anchor: str  # where the page cites it in full
    text_anchor: str  # where its document's page marks it


@dataclass
class SourceRef:
    """A citation of a passage under a value: in full the first time, as a link afterwards."""

    passage: Passage
    first: bool


class Citations:
    """The passages of the facts on a page; each is shown in full once, then referred to."""

    def __init__(self, by_fact: dict[str, list[Passage]], labels: Labels) -> None:
        self.by_fact = by_fact
        self.labels = labels
        self._shown: set[str] = set()

    def cite(self, passages: list[Passage]) -> list[SourceRef]:
        """Return citations of the passages, in full for those not shown yet on the page."""
        refs = []
        for passage in passages:
            refs.append(SourceRef(passage, passage.node.value not in self._shown))
            self._shown.add(passage.node.value)
        return refs

    def stating(self, fact: str, value: str, names: dict[str, list[str]]) -> list[Passage]:
        """Return the passages of a fact that state the value, among all the fact's values."""
        return [
            p
            for p in self.by_fact.get(fact, [])
            if p.quote is not None
            and value in ready_citations.stated_values(p.quote.exact, names, SHORTEST_MENTION)
        ]

    def mentioning(self, fact: str, names: list[str]) -> list[Passage]:
        """Return the passages of a fact whose words mention one of the names."""
        wanted = [n.casefold() for n in names if len(n) >= SHORTEST_MENTION]
        return [
            p
            for p in self.by_fact.get(fact, [])
            if p.quote is not None and any(n in p.quote.exact.casefold() for n in wanted)
        ]


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


def _int(term: Term | None) -> int | None:
    try:
        return int(term.value) if isinstance(term, ox.Literal) else None
    except ValueError:
        return None


def passage_anchor(iri: str) -> str:
    """Return the id of a passage's place in its document's page."""
    return "passage-" + re.sub(r"[^A-Za-z0-9_-]", "-", local_name(iri))


def passages_query(facts: list[str]) -> str:
    """Return the query of the passages each fact node (or passage) is derived from.

    The facts are given in each branch, not once before them: Virtuoso 7.2 joined a VALUES
    before a UNION whose branch binds ``?passage``, followed by an OPTIONAL, with its first
    branch only, and read every passage of the store for the second (24,164 rows and 9.8 s
    for a designation at a million triples, against 30).
    """
    values = " ".join(sparql_iri(f) for f in facts)
    chosen = "?fact ?passage ?source ?text ?exact ?prefix ?suffix ?start ?end"
    return f"""SELECT DISTINCT {chosen} WHERE {{
  {{ VALUES ?fact {{ {values} }} ?fact <{PROV.wasDerivedFrom}> ?passage }}
  UNION {{ VALUES ?fact {{ {values} }} ?fact <{OA.hasSource}> ?any BIND(?fact AS ?passage) }}
  OPTIONAL {{ ?passage <{OA.hasSource}> ?source .
             OPTIONAL {{ ?source <{DCTERMS.hasFormat}> ?text }} }}
  OPTIONAL {{ ?passage <{OA.hasSelector}> ?q . ?q <{OA.exact}> ?exact .
             OPTIONAL {{ ?q <{OA.prefix}> ?prefix }} OPTIONAL {{ ?q <{OA.suffix}> ?suffix }} }}
  OPTIONAL {{ ?passage <{OA.hasSelector}> ?r . ?r <{OA.start}> ?start ; <{OA.end}> ?end }}
}}"""


def _iris_of(rows: list[dict]) -> list[str]:
    """Return the IRIs bound in query rows."""
    return [t.value for row in rows for t in row.values() if isinstance(t, ox.NamedNode)]


def passage_rows(facts: list[str]) -> list[dict]:
    """Return the rows of ``passages_query``: each fact's passages, their text and selectors."""
    return get_store().query(passages_query(facts)).dicts() if facts else []


def passages_of(
    facts: list[str], labels: Labels, rows: list[dict] | None = None
) -> dict[str, list[Passage]]:
    """Return the passages each fact node (or passage) is derived from, in text order.

    :param rows: the facts' ``passage_rows``, when already read.
    """
    if rows is None:
        rows = passage_rows(facts)
    labels.fetch(_iris_of(rows))
    made: dict[str, Passage] = {}
    found: dict[str, dict[str, Passage]] = {}
    for row in rows:
        iri = term_value(row["passage"])
        if iri not in made or made[iri].quote is None:
            text_iri = row.get("text")
            text = read_source(text_iri.value) if isinstance(text_iri, ox.NamedNode) else None
            quote = quote_in_context(
                text,
                term_value(row["exact"]) if "exact" in row else None,
                term_value(row["prefix"]) if "prefix" in row else "",
                term_value(row["suffix"]) if "suffix" in row else "",
                _int(row.get("start")),
                _int(row.get("end")),
            )
            source = row.get("source")
            source_href = link_for(source.value).href if isinstance(source, ox.NamedNode) else None
            anchor = passage_anchor(iri)
            place = labels.place(iri)
            where = ready_citations.locator(place, get_language())
            made[iri] = Passage(
                node=term_view(row["passage"], labels),
                number=local_name(iri),
                where=where or local_name(iri),
                short=short_place(place) or local_name(iri),
                quote=quote,
                in_text=f"{source_href}#{anchor}" if source_href else None,
                anchor="source-" + anchor,
                text_anchor=anchor,
            )
        found.setdefault(term_value(row["fact"]), {})[iri] = made[iri]
    return {
        fact: sorted(
            passages.values(),
            key=lambda p: p.quote.start if p.quote and p.quote.start is not None else 0,
        )
        for fact, passages in found.items()
    }


# --- the page ---------------------------------------------------------------------------


@dataclass
class ClaimedCount:
    """One value of a count that sources dispute, with the documents and passages stating it."""

    node: TermView
    count: str
    documents: list[TermView]
    sources: list[SourceRef] = field(default_factory=list)


@dataclass
class Statement:
    """One property of the entity and (a page of) its values, each with its sources."""

    prop: TermView
    values: list[TermView]
    sources: list[list[SourceRef]]
    nested: dict[str, list[tuple[TermView, TermView]]]
    total: int
    first: int
    next_url: str | None = None
    previous_url: str | None = None
    claims: list[ClaimedCount] = field(default_factory=list)  # a disputed count, every value


@dataclass
class Incoming:
    """The subjects linking to the entity through one property (a page of them), and how many."""

    prop: TermView
    subjects: list[TermView] = field(default_factory=list)
    sources: list[list[SourceRef]] = field(default_factory=list)
    total: int = 0
    first: int = 1
    query: str | None = None  # a SPARQL query for every one, when they take several pages
    next_url: str | None = None
    previous_url: str | None = None


def _value_order(view: TermView, lang: str, orders: dict[str, int]) -> tuple:
    """Sort values: links first (by zi:stageOrder if any), then the page's language, then text."""
    in_language = view.language is None or view.language.split("-")[0] == lang
    order = orders.get(view.value)
    return (
        view.kind != "iri",
        order is None,
        order or 0,
        not in_language,
        view.text.casefold(),
        view.language or "",
    )


def stated_orders(iris: list[str]) -> dict[str, int]:
    """Return the place each of the IRIs states for itself in a sequence (a stage's order)."""
    if not iris:
        return {}
    rows = get_store().query(stated_orders_query(iris))
    return {term_value(row[0]): order for row in rows.rows if (order := _int(row[1])) is not None}


def stated_orders_query(iris: list[str]) -> str:
    """Return the query of ``stated_orders`` (the same for the same IRIs in any order)."""
    values = " ".join(sparql_iri(i) for i in sorted(set(iris)))
    return f"SELECT ?x ?order WHERE {{ VALUES ?x {{ {values} }} ?x <{ZI.stageOrder}> ?order }}"


def _statements(
    iri: str, triples: list[ox.Triple], labels: Labels, citations: Citations
) -> list[Statement]:
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
    lang = get_language()
    orders = stated_orders(
        [
            o.value
            for objects in by_property.values()
            for o in objects
            if isinstance(o, ox.NamedNode)
        ]
    )
    statements = []
    for prop, objects in by_property.items():
        views = sorted(
            (term_view(o, labels) for o in objects), key=lambda v: _value_order(v, lang, orders)
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
        statement = Statement(
            _property_view(prop, labels), shown, [], nested, len(views), first + 1
        )
        if first + VALUES_PER_PAGE < len(views):
            statement.next_url = _url_with_page(prop, current + 1)
        if current > 1:
            statement.previous_url = _url_with_page(prop, current - 1)
        statements.append(statement)
    statements.sort(key=lambda s: (display_rank(s.prop.value), s.prop.text.casefold()))
    value_names = {
        value.value: _names_of(value, citations)
        for statement in statements
        if statement.prop.value not in (str(RDF.type), str(PROV.wasDerivedFrom))
        for value in statement.values
        if value.kind != "bnode"
    }
    for statement in statements:
        if statement.prop.value == str(ZI.claimedCount):
            statement.claims = claimed_counts(iri, labels)
            for claim in statement.claims:
                claim.sources = citations.cite(citations.by_fact.get(claim.node.value, []))
            continue
        for value in statement.values:
            statement.sources.append(
                citations.cite(_supporting(iri, statement, value, citations, value_names))
            )
    return statements


def claimed_counts(iri: str, labels: Labels) -> list[ClaimedCount]:
    """Return every value of a count the sources dispute, smallest first, each with its sources.

    A source document is named by its publisher when the data knows it ("11 (Warta Contoh)").
    """
    rows = (
        get_store()
        .query(
            f"""SELECT ?claim ?count ?document ?publisher WHERE {{
  {sparql_iri(iri)} <{ZI.claimedCount}> ?claim .
  OPTIONAL {{ ?claim <{ZI.memberCount}> ?count }}
  OPTIONAL {{ ?claim <{PROV.wasDerivedFrom}>/<{OA.hasSource}> ?document .
             OPTIONAL {{ ?document <{SCHEMA.publisher}> ?publisher }} }}
}}"""
        )
        .dicts()
    )
    labels.fetch(t.value for row in rows for t in row.values() if isinstance(t, ox.NamedNode))
    claims: dict[str, ClaimedCount] = {}
    for row in rows:
        claim = row["claim"]
        found = claims.setdefault(
            term_value(claim),
            ClaimedCount(
                term_view(claim, labels), term_value(row["count"]) if "count" in row else "?", []
            ),
        )
        document = row.get("document")
        if isinstance(document, ox.NamedNode) and all(
            d.value != document.value for d in found.documents
        ):
            publisher = row.get("publisher")
            name = labels(publisher.value) if isinstance(publisher, ox.NamedNode) else None
            view = term_view(document, labels)
            found.documents.append(
                TermView("iri", view.value, name or view.text, view.href, title=view.text)
            )
    for counted in claims.values():
        counted.documents.sort(key=lambda d: d.text.casefold())
    return sorted(claims.values(), key=_count_order)


def _count_order(claim: ClaimedCount) -> tuple:
    number = claim.count.isdigit()
    return (not number, int(claim.count) if number else 0, claim.node.value)


def _names_of(value: TermView, citations: Citations) -> list[str]:
    if value.kind == "iri":
        return citations.labels.names(value.value)
    return ready_citations.date_mentions(value.value)


def _supporting(
    iri: str,
    statement: Statement,
    value: TermView,
    citations: Citations,
    names: dict[str, list[str]],
):
    """Return the passages of the entity that state this value, not a longer name around it."""
    if statement.prop.value == str(PROV.wasDerivedFrom):
        return [p for p in citations.by_fact.get(iri, []) if p.node.value == value.value]
    if statement.prop.value == str(RDF.type) or value.kind == "bnode":
        return []
    return citations.stating(iri, value.value, names)


def _url_with_page(prop: str, page: int, incoming: bool = False) -> str:
    """Return this page's URL at another page of one property's values (or linking subjects)."""
    from service.pages.common import url_with

    if incoming:
        return url_with(iproperty=prop, ipage=page) + "#incoming"
    return url_with(property=prop, vpage=page) + "#statements"


def _property_view(iri: str, labels: Labels, inverse: bool = False) -> TermView:
    link = link_for(iri)
    text = labels.of_inverse(iri) if inverse else labels.of_property(iri)
    return TermView("iri", iri, text, link.href, link.external, title=compact(iri))


def _page_number(name: str) -> int:
    try:
        return max(1, int(request.args.get(name, "1")))
    except ValueError:
        return 1


@dataclass(frozen=True)
class IncomingLinks:
    """The shown page of the subjects linking to an entity through one property."""

    prop: str
    total: int
    current: int  # the page shown, from 1
    pages: int
    first: int  # the index of the first subject shown, from 0
    subjects: list[Term]


def _incoming_links(iri: str) -> tuple[list[IncomingLinks], int]:
    """Return the properties linking to the IRI, each with a page of its subjects, and the total.

    Each property shows INCOMING_PER_PAGE subjects and its own pager (``?iproperty=&ipage=``),
    so a hub linked from a hundred thousand facts costs a few small queries.
    """
    counts = document.incoming_counts(iri)
    wanted = request.args.get("iproperty")
    page = _page_number("ipage")
    shown = []
    for prop, total in counts.items():
        pages = max(1, -(-total // INCOMING_PER_PAGE))
        current = min(page, pages) if prop == wanted else 1
        shown.append((prop, total, current, pages, (current - 1) * INCOMING_PER_PAGE))
    get_store().prefetch(
        [
            document.linking_subjects_query(iri, prop, total, first, INCOMING_PER_PAGE)
            for prop, total, _, _, first in shown
        ]
    )
    links = [
        IncomingLinks(
            prop,
            total,
            current,
            pages,
            first,
            document.linking_subjects(iri, prop, total, first, INCOMING_PER_PAGE),
        )
        for prop, total, current, pages, first in shown
    ]
    return links, sum(counts.values())


def _incoming(iri: str, links: list[IncomingLinks], labels: Labels) -> list[Incoming]:
    """Return the groups of the incoming links, by property, with their pagers."""
    labels.fetch(s.value for link in links for s in link.subjects if isinstance(s, ox.NamedNode))
    groups = []
    for link in links:
        group = Incoming(
            _property_view(link.prop, labels, inverse=True),
            total=link.total,
            first=link.first + 1,
            query=document.linking_query(iri, link.prop) if link.pages > 1 else None,
        )
        if link.current < link.pages:
            group.next_url = _url_with_page(link.prop, link.current + 1, incoming=True)
        if link.current > 1:
            group.previous_url = _url_with_page(link.prop, link.current - 1, incoming=True)
        group.subjects = sorted(
            (term_view(bound(s), labels) for s in link.subjects), key=lambda v: v.text.casefold()
        )
        groups.append(group)
    return sorted(groups, key=lambda g: (display_rank(g.prop.value), g.prop.text.casefold()))


def _without_stated_inverses(
    statements: list[Statement], incoming: list[Incoming]
) -> tuple[list[Incoming], int]:
    """Return the incoming links but those the entity states from its own end, and their number.

    A ceremony stating schema:superEvent of a commemoration which states schema:subEvent of it
    is one link, shown once, as the ceremony's statement. Only the links on the shown page of a
    group are compared; they are compared before their sources are cited.
    """
    stated = {(s.prop.value, v.value) for s in statements for v in s.values}
    kept, dropped = [], 0
    for group in incoming:
        inverse = inverse_of(group.prop.value)
        shown = [s for s in group.subjects if (inverse, s.value) not in stated]
        left_out = len(group.subjects) - len(shown)
        dropped += left_out
        group.total -= left_out
        group.subjects = shown
        if group.total:
            kept.append(group)
    return kept, dropped


def _cite_incoming(iri: str, incoming: list[Incoming], citations: Citations) -> None:
    names = citations.labels.names(iri)
    for group in incoming:
        for subject in group.subjects:
            group.sources.append(citations.cite(citations.mentioning(subject.value, names)))


@dataclass
class Piece:
    """A run of a source text: covered by some passages, and the passages that start here."""

    text: str
    covered: int
    starts: list[Passage]


def article_paragraphs(text: str, passages: list[Passage]) -> list[list[Piece]]:
    """Return a source text as paragraphs of pieces, each passage marked where it starts."""
    spans = [
        (p.quote.start, p.quote.end, p)
        for p in passages
        if p.quote and p.quote.start is not None and p.quote.end is not None
        if 0 <= p.quote.start < p.quote.end <= len(text)
    ]
    cuts = sorted(
        {0, len(text)}
        | {s for s, _, _ in spans}
        | {e for _, e, _ in spans}
        | {i + 1 for i, c in enumerate(text) if c == "\n"}
    )
    paragraphs: list[list[Piece]] = [[]]
    for start, end in zip(cuts, cuts[1:], strict=False):
        piece = text[start:end]
        starts = [p for s, _, p in spans if s == start]
        covered = sum(1 for s, e, _ in spans if s <= start and end <= e)
        if piece.strip("\n") or starts:
            paragraphs[-1].append(Piece(piece.rstrip("\n"), covered, starts))
        if piece.endswith("\n"):
            paragraphs.append([])
    return [p for p in paragraphs if p]


def json_ld_script(triples: list[ox.Triple]) -> Markup:
    """Return the triples as JSON-LD safe inside a <script> element: no raw <, > or &."""
    document_ = jsonld_document({None: sorted(set(triples), key=str)})
    text = json.dumps(document_, ensure_ascii=False, indent=1)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - every markup character is escaped above


def entity_context(iri: str, path: str) -> dict:
    """Return everything the entity page shows about an IRI.

    What the page is about is read first (its description, the links to it, the passages
    stating them), then the labels of every IRI among them in one query. The queries that
    need nothing but the IRI go to the store together, in one call (``prefetch``).
    """
    get_store().prefetch(
        [
            document.describe_query(iri),
            document.incoming_counts_query(iri),
            document.classes_query(iri),
            charts.timeline_query(iri),
            charts.pipelines_query(iri),
            ready_citations.citation_query(iri),
            ready_citations.reference_query(iri),
        ]
    )
    triples = document.describe(iri)
    links, incoming_total = _incoming_links(iri)
    subject = ox.NamedNode(iri)
    claims = [
        term_value(t.object)
        for t in triples
        if t.subject == subject and t.predicate.value == str(ZI.claimedCount)
    ]
    facts = [
        iri,
        *claims,
        *(s.value for link in links for s in link.subjects if isinstance(s, ox.NamedNode)),
    ]
    objects = [
        t.object.value
        for t in triples
        if t.subject == subject and isinstance(t.object, ox.NamedNode)
    ]
    get_store().prefetch(
        [
            passages_query(facts),
            *([stated_orders_query(objects)] if objects else []),
            *(charts.funnel_query(pipeline) for pipeline in charts.pipelines_of(iri)),
            *summary.summary_queries(iri),
            *ready_citations.citation_queries(iri),
        ]
    )
    rows = passage_rows(facts)
    labels = Labels()
    labels.fetch(
        facts  # the IRI itself first
        + [t.predicate.value for t in triples]
        + [t.object.value for t in triples if isinstance(t.object, ox.NamedNode)]
        + _iris_of(rows)
        + charts.named_in_charts(iri)  # fetched here, they cost the charts no query
        + summary.named_in_summary(iri)  # nor the summary
    )
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
    incoming = _incoming(iri, links, labels)
    citations = Citations(passages_of(facts, labels, rows), labels)
    is_passage = any(t.value == str(ZI.Passage) for t in types)
    statements = _statements(iri, triples, labels, citations)
    incoming, dropped = _without_stated_inverses(statements, incoming)
    incoming_total -= dropped
    _cite_incoming(iri, incoming, citations)
    timeline = charts.timeline_for(iri)
    citation = ready_citations.citation_for(iri)
    return {
        "iri": iri,
        "path": path,
        "title": labels(iri),
        "alternatives": labels.alternatives(iri),
        "types": types,
        "summary": summary.summarise(iri, triples, labels),
        "description": pick_language(descriptions) if descriptions else None,
        "statements": statements,
        "incoming": incoming,
        "incoming_total": incoming_total,
        "passage": citations.by_fact.get(iri, [None])[0] if is_passage else None,
        "paragraphs": _article(triples, iri, labels),
        "conformance": conformance(iri),
        "funnels": charts.funnels_for(iri),
        "timeline": timeline if timeline and len(timeline.events) > 1 else None,
        "neighbourhood": charts.neighbourhood(iri, labels(iri), statements, incoming),
        "downloads": [
            (name, url_for("entity.doc", path=f"{path}.{name}"), fmt.media_type)
            for name, fmt in RDF_SUFFIXES.items()
        ],
        "json_ld": json_ld_script(document.search_engine_view(iri, triples)),
        "citation": citation,
        "article_dates": _article_dates(citation),
        "reference": _reference_view(iri, labels),
    }


def _article_dates(citation: ready_citations.Citation | None) -> dict[str, str]:
    """Return the article's reported date and publication date as a reader writes them."""
    if citation is None:
        return {}
    work = citation.work
    return {
        "reported": ready_citations.reported_date(work, get_language()),
        "published": format_date(work.published, get_language()) if work.published else "",
    }


def _reference_view(iri: str, labels: Labels) -> dict | None:
    """Return the basis and curators of a resource of reference data, as links."""
    found = ready_citations.reference_of(iri)
    if found is None:
        return None
    labels.fetch([found.record, *found.bases, *found.curators])

    def views(iris: list[str]) -> list[TermView]:
        return [term_view(ox.NamedNode(i), labels) for i in iris]

    return {
        "record": views([found.record])[0],
        "bases": views(found.bases),
        "curators": views(found.curators),
    }


def _article(triples: list[ox.Triple], iri: str, labels: Labels) -> list[list[Piece]]:
    """Return the entity's source text as marked paragraphs, if it is a document we hold."""
    text_iris = [
        term_value(t.object)
        for t in triples
        if t.subject == ox.NamedNode(iri) and t.predicate == ox.NamedNode(str(DCTERMS.hasFormat))
    ]
    text = next((read_source(t) for t in text_iris if read_source(t) is not None), None)
    if text is None:
        return []
    rows = get_store().query(
        f"SELECT DISTINCT ?passage WHERE {{ ?passage <{OA.hasSource}> {sparql_iri(iri)} }}"
    )
    passages = [row[0].value for row in rows.rows if isinstance(row[0], ox.NamedNode)]
    found = passages_of(passages, labels)
    return article_paragraphs(text, [p for ps in found.values() for p in ps])
