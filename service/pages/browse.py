"""The home page, class lists and search over labels and passages."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox
from flask import Blueprint, current_app, make_response, render_template, request

from service import search, statistics
from service.citations import locator
from service.downloads import STALE_DUMP_SECONDS, dump_folder
from service.i18n import format_date, get_language
from service.namespaces import DCTERMS, OA, PROV, RDF, RDFS, SCHEMA, SKOS, ZI
from service.page_cache import cached_page
from service.pages import charts
from service.pages.common import not_found
from service.pages.labels import (
    Labels,
    TermView,
    link_for,
    local_name,
    pick_language,
    short_place,
    sparql_iri,
    term_view,
)
from service.pages.vocabulary import class_rank, is_technical_class
from service.store import get_store
from service.store.embedded import LISTED_MEMBERS, SEARCH, refuse_while_being_finished
from service.store.remote import RemoteBackend
from service.terms import bound, term_value

bp = Blueprint("browse", __name__)

PER_PAGE = 25
# A class this size or smaller is listed sorted by its members' labels, read whole; a larger
# one a page at a time, sorted by IRI (as the store lists it when built, else by its ORDER BY),
# so that no page reads a whole class.
LABEL_SORTED_MEMBERS = LISTED_MEMBERS
# What the home page shows of each list, whatever the size of the data; a query gives the rest.
HOME_ROWS = 25
HOME_SOURCES = 10
HOME_FUNNELS = 3
DUMP_FORMATS = ("ttl", "jsonld", "nq", "trig", "nt", "rdf")
SEARCH_KEY = "zigraph.pages.search"
SEARCH_REFRESH_SECONDS = 30
CLASSES_KEY = "zigraph.pages.classes"
YEAR_KEY = "zigraph.pages.latest-year"
Value = TypeVar("Value")


@dataclass
class Paging:
    """Which page of how many, and the links to its neighbours."""

    page: int
    pages: int
    total: int
    first: int


def paging_of(total: int, per_page: int) -> Paging:
    """Return where the requested page (``?page=``) lies among ``total`` items."""
    pages = max(1, -(-total // per_page))
    try:
        page = min(max(1, int(request.args.get("page", "1"))), pages)
    except ValueError:
        page = 1
    return Paging(page, pages, total, (page - 1) * per_page + 1)


def paginate(items: list, per_page: int | None = None) -> tuple[list, Paging]:
    """Return the requested page (``?page=``) of the items and where it lies."""
    per_page = per_page or PER_PAGE
    paging = paging_of(len(items), per_page)
    return items[paging.first - 1 : paging.first - 1 + per_page], paging


def per_version(key: str, build: Callable[[], Value]) -> Value:
    """Return a value built once per data version in this process.

    A remote store may change at any time and has no cheap version: its values are built
    again every SEARCH_REFRESH_SECONDS.
    """
    version = get_store().fixed_version()
    version = version or f"at-{time.monotonic() // SEARCH_REFRESH_SECONDS:.0f}"
    cached = current_app.extensions.get(key)
    if cached is None or cached[0] != version:
        cached = (version, build())
        current_app.extensions[key] = cached
    return cached[1]


def class_figures() -> dict:
    """Return the data's classes, their members and superclasses, counted once per version.

    They are part of the VoID statistics, which a built store counts when it is built.
    """
    return per_version(CLASSES_KEY, lambda: get_store().statistics()["data_classes"])


def class_counts(labels: Labels) -> list[tuple[TermView, int]]:
    """Return each class of the data with its instances (its subclasses' too), largest first."""
    members: dict[str, int] = class_figures()["members"]
    labels.fetch(members)
    counts = [(term_view(ox.NamedNode(iri), labels), n) for iri, n in members.items()]
    return sorted(counts, key=lambda item: (-item[1], item[0].text.casefold()))


def data_classes(labels: Labels) -> list[tuple[TermView, int]]:
    """Return the classes worth listing: ours, and reused ones the data states directly."""
    direct = set(class_figures()["stated"])
    # prov:Entity or schema:Event only count what our classes already show.
    return [
        (cls, n)
        for cls, n in class_counts(labels)
        if cls.value in direct or cls.value.startswith(str(ZI))
    ]


@dataclass
class ClassNode:
    """A class in the hierarchy of the data's classes, with its instances and subclasses."""

    cls: TermView
    count: int
    children: list[ClassNode] = field(default_factory=list)


def class_tree(labels: Labels) -> list[ClassNode]:
    """Return the data's classes as a forest along rdfs:subClassOf, each counting its subtree."""
    nodes = {cls.value: ClassNode(cls, n) for cls, n in data_classes(labels)}
    superclasses: dict[str, list[str]] = class_figures()["superclasses"]
    parents = {
        iri: [parent for parent in superclasses.get(iri, []) if parent in nodes] for iri in nodes
    }
    for iri, node in nodes.items():
        for parent_iri in parents[iri]:
            nodes[parent_iri].children.append(node)
    for node in nodes.values():
        node.children.sort(key=lambda n: (-n.count, n.cls.text.casefold()))
    roots = [node for iri, node in nodes.items() if not parents[iri]]
    return sorted(roots, key=lambda n: (-n.count, n.cls.text.casefold()))


@dataclass(frozen=True)
class PassageLink:
    """A passage as a table cites it: "1.2", and in words "paragraf 1, kalimat 2"."""

    order: tuple[int, int, str]
    href: str | None
    short: str
    where: str


@dataclass
class RowSource:
    """A source document of a table row, named by its publisher, and the passages it cites."""

    document: TermView
    passages: list[PassageLink]


@dataclass
class Designation:
    """A conferral as one row of the home page's table."""

    conferral: TermView
    recipient: TermView | None
    designation: TermView | None
    date: str | None
    conferred_by: TermView | None
    sources: list[RowSource] = field(default_factory=list)


def row_sources(facts: list[str], labels: Labels) -> dict[str, list[RowSource]]:
    """Return the documents and passages each fact derives from, passages in text order."""
    values = " ".join(sparql_iri(f) for f in facts)
    rows = (
        get_store()
        .query(
            f"""SELECT DISTINCT ?fact ?passage ?document ?publisher WHERE {{
  VALUES ?fact {{ {values} }}
  ?fact <{PROV.wasDerivedFrom}> ?passage . ?passage <{OA.hasSource}> ?document .
  OPTIONAL {{ ?document <{SCHEMA.publisher}> ?publisher }}
}}"""
        )
        .dicts()
    )
    labels.fetch(t.value for row in rows for t in row.values() if isinstance(t, ox.NamedNode))
    found: dict[str, dict[str, RowSource]] = {}
    for row in rows:
        document = term_view(row["document"], labels)
        publisher = row.get("publisher")
        if isinstance(publisher, ox.NamedNode):
            document = TermView(
                "iri", document.value, labels(publisher.value), document.href, title=document.text
            )
        cell = found.setdefault(term_value(row["fact"]), {}).setdefault(
            document.value, RowSource(document, [])
        )
        passage = term_value(row["passage"])
        place = labels.place(passage)
        cell.passages.append(
            PassageLink(
                (place.paragraph or 0, place.first or 0, passage),
                link_for(passage).href,
                short_place(place) or local_name(passage),
                locator(place, get_language()) or labels(passage),
            )
        )
    for cells in found.values():
        for cell in cells.values():
            cell.passages.sort(key=lambda passage: passage.order)
    return {
        fact: sorted(cells.values(), key=lambda c: c.document.text.casefold())
        for fact, cells in found.items()
    }


def latest_year() -> int | None:
    """Return the latest year in which designations were assessed, once per data version."""
    return per_version(YEAR_KEY, read_latest_year)


def read_latest_year() -> int | None:
    """Return the latest year in which designations were assessed.

    A store counts it when it is built, with its statistics; one built before that is asked.
    """
    store = get_store()
    figures = store.statistics()
    if "latest_assessment_year" in figures:
        return figures["latest_assessment_year"]
    rows = store.query(statistics.ASSESSMENT_YEARS).rows
    return statistics.latest_year(term_value(bound(row[0])) for row in rows)


def designations(labels: Labels) -> tuple[int | None, list[Designation], str | None]:
    """Return the latest assessment year, its first designations, and a query for all."""
    # The query is None when there are no more than HOME_ROWS; which HOME_ROWS are shown is
    # the store's order, for sorting a year's thousands of conferrals costs a scan of them.
    year = latest_year()
    in_year = (
        f'?c <{ZI.assessmentYear}> ?year FILTER(SUBSTR(STR(?year), 1, 4) = "{year}")'
        if year is not None
        else ""
    )
    every = f"SELECT DISTINCT ?c WHERE {{ ?c a <{ZI.DesignationConferral}> . {in_year} }}"
    store = get_store()
    rows = store.query(f"{every} LIMIT {HOME_ROWS + 1}").rows
    first = [term_value(bound(row[0])) for row in rows]
    if not first:
        return year, [], None
    values = " ".join(sparql_iri(iri) for iri in first[:HOME_ROWS])
    details = store.query(
        f"""SELECT DISTINCT ?c ?recipient ?designation ?date ?by WHERE {{
  VALUES ?c {{ {values} }}
  OPTIONAL {{ ?c <{ZI.recipient}> ?recipient }}
  OPTIONAL {{ ?c <{ZI.designation}> ?designation }}
  OPTIONAL {{ ?c <{ZI.conferralDate}> ?date }}
  OPTIONAL {{ ?c <{ZI.conferredBy}> ?by }}
}}"""
    ).dicts()
    labels.fetch(t.value for r in details for t in r.values() if isinstance(t, ox.NamedNode))
    found: dict[str, Designation] = {}
    for r in details:
        found.setdefault(
            term_value(r["c"]),
            Designation(
                conferral=term_view(r["c"], labels),
                recipient=term_view(r["recipient"], labels) if "recipient" in r else None,
                designation=term_view(r["designation"], labels) if "designation" in r else None,
                date=format_date(term_value(r["date"])) if "date" in r else None,
                conferred_by=term_view(r["by"], labels) if "by" in r else None,
            ),
        )
    cited = row_sources(list(found), labels)
    for iri, designation in found.items():
        designation.sources = cited.get(iri, [])
    ordered = sorted(found.values(), key=lambda d: d.recipient.text if d.recipient else "")
    return year, ordered, every if len(first) > HOME_ROWS else None


def sources(labels: Labels) -> tuple[list[TermView], str | None]:
    """Return the first source documents (nodes with a text we hold), and a query for all."""
    # The query is None when there are no more than HOME_SOURCES.
    every = f"SELECT DISTINCT ?doc WHERE {{ ?doc <{DCTERMS.hasFormat}> ?text }}"
    rows = get_store().query(f"{every} LIMIT {HOME_SOURCES + 1}").rows
    documents = sorted(row[0].value for row in rows if isinstance(row[0], ox.NamedNode))
    labels.fetch(documents[:HOME_SOURCES])
    shown = [term_view(ox.NamedNode(iri), labels) for iri in documents[:HOME_SOURCES]]
    return shown, f"{every} ORDER BY ?doc" if len(rows) > HOME_SOURCES else None


def funnels() -> tuple[list[charts.Funnel], str | None]:
    """Return the funnels of the first selection pipelines, and a query for all pipelines."""
    # The query is None when there are no more than HOME_FUNNELS.
    every = f"SELECT DISTINCT ?pipeline WHERE {{ ?pipeline <{ZI.hasStage}> ?stage }}"
    rows = get_store().query(f"{every} LIMIT {HOME_FUNNELS + 1}").rows
    pipelines = sorted(row[0].value for row in rows if isinstance(row[0], ox.NamedNode))
    drawn = [charts.funnel(iri) for iri in pipelines[:HOME_FUNNELS]]
    return drawn, f"{every} ORDER BY ?pipeline" if len(rows) > HOME_FUNNELS else None


@bp.route("/")
def home():
    """Introduce the dataset: where it comes from, what it holds, where to go next."""
    return cached_page(lambda: make_response(render_home()))


def render_home() -> str:
    """Render the home page (kept per data version and language by ``cached_page``)."""
    labels = Labels()
    year, conferred, conferred_query = designations(labels)
    documents, documents_query = sources(labels)
    drawn, funnels_query = funnels()
    counts = data_classes(labels)
    return render_template(
        "pages/home.html",
        counts=sorted(
            (c for c in counts if not is_technical_class(c[0].value)),
            key=lambda c: (class_rank(c[0].value), -c[1], c[0].text.casefold()),
        ),
        technical_counts=[c for c in counts if is_technical_class(c[0].value)],
        year=year,
        designations=conferred,
        designations_query=conferred_query,
        funnels=drawn,
        funnels_query=funnels_query,
        sources=documents,
        sources_query=documents_query,
        dumps=DUMP_FORMATS,
    )


@bp.route("/browse")
def classes():
    """Show the data's classes as a hierarchy, each with its number of instances."""
    return cached_page(
        lambda: make_response(render_template("pages/browse.html", tree=class_tree(Labels())))
    )


@bp.route("/browse/class")
def class_page():
    """List the instances of one class (``?iri=``), sorted by label, a page at a time."""
    return cached_page(lambda: make_response(render_class_page()))


def render_class_page():
    """Render a class's page (kept per data version, language and query by ``cached_page``):
    over a remote store each page of a large class is the store's ORDER BY of its members."""
    iri = request.args.get("iri", "")
    try:
        node = sparql_iri(iri)
    except ValueError:
        return not_found(iri or "?iri=")
    store = get_store()
    members = statistics.members_of(node)
    descending = request.args.get("sort") == "desc"
    total = class_figures()["members"].get(iri)
    by_label = total is None or total <= LABEL_SORTED_MEMBERS
    if by_label:
        rows = store.query(members).rows
    else:
        paging = paging_of(total, PER_PAGE)
        listed = store.class_members(iri, paging.first - 1, PER_PAGE, descending)
        if listed is not None:
            rows = [(ox.NamedNode(member),) for member in listed]
        else:
            order = "DESC(?s)" if descending else "?s"
            rows = store.query(
                f"{members} ORDER BY {order} LIMIT {PER_PAGE} OFFSET {paging.first - 1}"
            ).rows
    related = store.query(
        f"""SELECT DISTINCT ?c ?up WHERE {{
  {{ {node} <{RDFS.subClassOf}> ?c BIND(true AS ?up) }}
  UNION {{ ?c <{RDFS.subClassOf}> {node} BIND(false AS ?up) }}
  FILTER(isIRI(?c) && ?c != {node})
}}"""
    ).rows
    definition = store.query(
        f"SELECT ?d WHERE {{ {node} <{SKOS.definition}>|<{RDFS.comment}> ?d }}"
    ).rows
    labels = Labels().fetch(
        [
            iri,
            *(row[0].value for row in rows if isinstance(row[0], ox.NamedNode)),
            *(term_value(row[0]) for row in related),
        ]
    )
    instances = [term_view(bound(row[0]), labels) for row in rows]
    if not instances and not store.query(f"ASK {{ ?x ?p {node} }}").boolean:
        return not_found(iri)
    if by_label:
        instances.sort(key=lambda v: (v.text.casefold(), v.value), reverse=descending)
        instances, paging = paginate(instances)
    return render_template(
        "pages/class.html",
        cls=term_view(ox.NamedNode(iri), labels),
        superclasses=sorted(
            (term_view(bound(c), labels) for c, up in related if term_value(up) == "true"),
            key=lambda v: v.text.casefold(),
        ),
        subclasses=sorted(
            (term_view(bound(c), labels) for c, up in related if term_value(up) != "true"),
            key=lambda v: v.text.casefold(),
        ),
        definition=pick_language(
            (row[0].value, row[0].language or "")
            for row in definition
            if isinstance(row[0], ox.Literal)  # a comment or definition may be any term
        ),
        instances=instances,
        paging=paging,
        descending=descending,
        by_label=by_label,
        members_query=f"{members} ORDER BY ?s",
    )


def search_index() -> search.SearchIndex:
    """Return the index of the labels and passages, once per data version in this process."""
    return per_version(SEARCH_KEY, open_search_index)


def open_search_index() -> search.SearchIndex:
    """Open the index made with the store (``saved_search_index``), or index the store now,
    in memory.

    A store built before zigraph indexed its text, or a remote store pushed without one, is
    read whole by one query (ENTRIES_QUERY) and indexed in this process: seconds at a million
    triples, more than Virtuoso's time limit past that.
    """
    saved = saved_search_index()
    if saved is not None:
        return saved
    store = get_store()
    if store.name == "embedded":
        refuse_while_being_finished(Path(store.location), SEARCH)
    return search.build(search.entries_of(store.query(search.ENTRIES_QUERY).rows))


def saved_search_index() -> search.SearchIndex | None:
    """Return the index made with the store, or None: beside a built store; over a remote
    store, the one ``zigraph push`` put into the record, unpacked once a version into the dump
    folder for every web process."""
    store = get_store()
    if store.name == "embedded":
        return search.open_index(Path(store.location) / search.INDEX_FOLDER)
    version = store.fixed_version()
    if not isinstance(store, RemoteBackend) or version is None:
        return None
    unpacked = search.open_index(dump_folder() / f"search-{version}")
    if unpacked is not None:
        return unpacked
    version, packed = store.read_record_part("search")
    if version is None or packed is None:
        return None
    folder = dump_folder() / f"search-{version}"
    for old in folder.parent.glob("search-*"):  # other versions', an hour after their unpacking
        if old.name != folder.name and time.time() - old.stat().st_mtime > STALE_DUMP_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
    return search.unpack(packed, folder)


def open_saved_search_index() -> None:
    """Open this version's saved index now, as a web process does before its first request:
    its first search then waits for nothing (0.7 s over Virtuoso at a million triples)."""
    version = get_store().fixed_version()
    saved = saved_search_index() if version is not None else None
    if saved is not None:
        current_app.extensions[SEARCH_KEY] = (version, saved)


@dataclass
class Hit:
    """A node that matches the search, with what matched and why."""

    node: TermView
    match: search.Match
    types: list[TermView]


@bp.route("/search", endpoint="search")
def search_page():
    """Search labels, acronyms and the passages' text, with typos and Indonesian affixes."""
    query = request.args.get("q", "")[:200].strip()
    found = search_index().search(query) if query else search.Found([], False)
    shown, paging = paginate(found.matches)
    labels = Labels().fetch(m.node for m in shown)
    types: dict[str, list[str]] = {}
    if shown:
        values = " ".join(sparql_iri(m.node) for m in shown)
        for s, t in (
            get_store()
            .query(f"SELECT DISTINCT ?s ?t WHERE {{ VALUES ?s {{ {values} }} ?s <{RDF.type}> ?t }}")
            .rows
        ):
            types.setdefault(term_value(s), []).append(term_value(t))
        labels.fetch(t for found_types in types.values() for t in found_types)
    hits = [
        Hit(
            node=term_view(ox.NamedNode(m.node), labels),
            match=m,
            types=[term_view(ox.NamedNode(t), labels) for t in sorted(types.get(m.node, []))],
        )
        for m in shown
    ]
    return render_template("pages/search.html", q=query, hits=hits, paging=paging, more=found.more)
