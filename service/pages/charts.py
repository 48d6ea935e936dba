"""Server-drawn pictures: the selection funnel, a node's neighbourhood and a designation timeline.

Each function returns geometry and text; the templates draw the SVG (autoescaped) and a table.
"""

from __future__ import annotations

import textwrap
import zlib
from dataclasses import dataclass, field

import pyoxigraph as ox

from service.i18n import format_date, translate
from service.namespaces import DCTERMS, PROV, RDF, ZI
from service.pages.labels import Labels, TermView, sparql_iri, term_view
from service.store import get_store
from service.terms import Term, term_value

# Narrow enough that 14 px text stays above 12 px on a 390 px phone; wide screens cap the size.
WIDTH = 400
LABEL_CHARS = 44  # a stage label wraps at about this many characters
LABEL_LINE = 18


def count_text(counts: list[int]) -> str:
    """Return a stage's counts as text: one count, or every value sources dispute ("11 / 12")."""
    return "\u00a0/\u00a0".join(str(c) for c in sorted(set(counts)))  # no break inside


def _short_label(iri: str, labels: Labels) -> str:
    """Return an acronym when the node has one, else its label."""
    alternatives = labels.alternatives(iri)
    return min(alternatives, key=len) if alternatives else labels(iri)


# --- funnel ------------------------------------------------------------------------------


@dataclass
class FunnelMember:
    """A named member of a stage, placed under its bar."""

    node: TermView
    text: str
    y: float


@dataclass
class FunnelBar:
    """One stage of the pipeline as a bar: width proportional to the stage's count."""

    stage: TermView
    order: int
    count_text: str  # every count: sources that disagree are each shown, none picked
    disputed: bool
    x: float
    y: float
    width: float
    label_y: float
    label_lines: list[str] = field(default_factory=list)
    members: list[FunnelMember] = field(default_factory=list)
    narrowing: str | None = None  # polygon points joining this bar to the next one


@dataclass
class Funnel:
    """A selection pipeline drawn as a funnel."""

    pipeline: TermView
    bars: list[FunnelBar]
    height: float
    description: str
    ident: str
    width: int = WIDTH


BAR_HEIGHT = 34
MEMBER_LINE = 18


def funnels_for(iri: str) -> list[Funnel]:
    """Return the funnels of the pipelines the node is, is a stage of, or is named in."""
    pipelines = pipelines_of(iri)
    get_store().prefetch([funnel_query(pipeline) for pipeline in pipelines])
    return [funnel(pipeline) for pipeline in pipelines]


def pipelines_of(iri: str) -> list[str]:
    """Return the pipelines whose funnels ``funnels_for`` draws."""
    rows = get_store().query(pipelines_query(iri)).rows
    return [row[0].value for row in rows if isinstance(row[0], ox.NamedNode)]


def named_in_charts(iri: str) -> list[str]:
    """Return the IRIs the node's timeline and funnels name, for their labels.

    A page fetches these labels with its own, in one query; ask the store for
    ``funnel_query`` of each of ``pipelines_of`` with the page's other queries first.
    """
    store = get_store()
    pipelines = pipelines_of(iri)
    rows = list(store.query(timeline_query(iri)).rows)
    for pipeline in pipelines:
        rows += store.query(funnel_query(pipeline)).rows
    return pipelines + [t.value for row in rows for t in row if isinstance(t, ox.NamedNode)]


def pipelines_query(iri: str) -> str:
    """Return the query of the pipelines ``funnels_for`` draws."""
    node = sparql_iri(iri)
    return f"""SELECT DISTINCT ?pipeline WHERE {{
  {{ BIND({node} AS ?pipeline) ?pipeline a <{ZI.SelectionPipeline}> }}
  UNION {{ ?pipeline <{ZI.hasStage}> {node} }}
  UNION {{ ?pipeline <{ZI.hasStage}>/<{ZI.namedMember}> {node} }}
}} ORDER BY ?pipeline"""


def funnel_query(pipeline: str) -> str:
    """Return the query of the stages ``funnel`` draws."""
    node = sparql_iri(pipeline)
    return f"""SELECT ?stage ?order ?count ?member WHERE {{
  {node} <{ZI.hasStage}> ?stage .
  OPTIONAL {{ ?stage <{ZI.stageOrder}> ?order }}
  OPTIONAL {{ ?stage <{ZI.memberCount}>|<{ZI.claimedCount}>/<{ZI.memberCount}> ?count }}
  OPTIONAL {{ ?stage <{ZI.namedMember}> ?member }}
}}"""


def funnel(pipeline: str) -> Funnel:
    """Return the funnel of one pipeline: stages in order, bar widths by member count.

    A count that sources dispute (zi:claimedCount) shows every value; the bar is as wide as
    the largest and drawn as disputed.
    """
    rows = get_store().query(funnel_query(pipeline)).dicts()
    stages: dict[str, dict] = {}
    for row in rows:
        stage = stages.setdefault(
            term_value(row["stage"]), {"members": set(), "counts": set(), "term": row["stage"]}
        )
        for key in ("order", "count"):
            try:
                number = int(term_value(row[key])) if key in row else None
            except ValueError:
                number = None
            if number is not None and key == "order":
                stage["order"] = number
            elif number is not None:
                stage["counts"].add(number)
        member = row.get("member")
        if isinstance(member, ox.NamedNode):
            stage["members"].add(member.value)
    labels = Labels().fetch(
        [pipeline, *stages, *(m for s in stages.values() for m in s["members"])]
    )
    ordered = sorted(stages.items(), key=lambda item: (item[1].get("order", 99), item[0]))
    counts = [sorted(s["counts"]) or [len(s["members"])] for _, s in ordered]
    largest = max((max(c) for c in counts), default=0) or 1
    bars, y = [], 10.0
    for position, ((_, stage), stage_counts) in enumerate(zip(ordered, counts, strict=True), 1):
        width = max(6.0, (WIDTH - 40) * max(stage_counts) / largest)
        view = term_view(stage["term"], labels)
        order = stage.get("order", position)
        text = count_text(stage_counts)
        lines = textwrap.wrap(f"{order}. {view.text} — {text}", LABEL_CHARS)
        bar = FunnelBar(
            stage=view,
            order=order,
            count_text=text,
            disputed=len(stage_counts) > 1,
            x=(WIDTH - width) / 2,
            y=y + 8 + LABEL_LINE * len(lines),
            width=width,
            label_y=y + 14,
            label_lines=lines,
        )
        members = sorted(stage["members"], key=lambda m: _short_label(m, labels).casefold())
        for index, member in enumerate(members):
            bar.members.append(
                FunnelMember(
                    term_view(ox.NamedNode(member), labels),
                    _short_label(member, labels),
                    bar.y + BAR_HEIGHT + 16 + index * MEMBER_LINE,
                )
            )
        bars.append(bar)
        y = bar.y + BAR_HEIGHT + MEMBER_LINE * len(members) + 14
    for bar, following in zip(bars, bars[1:], strict=False):
        bottom = bar.y + BAR_HEIGHT
        bar.narrowing = " ".join(
            f"{x:.1f},{y:.1f}"
            for x, y in (
                (bar.x, bottom),
                (bar.x + bar.width, bottom),
                (following.x + following.width, following.y),
                (following.x, following.y),
            )
        )
    parts = []
    for bar in bars:
        named = ", ".join(m.text for m in bar.members)
        disputed = f" ({translate('sources_disagree')})" if bar.disputed else ""
        parts.append(
            f"{bar.stage.text}: {bar.count_text}{disputed}" + (f" ({named})" if named else "")
        )
    return Funnel(
        pipeline=term_view(ox.NamedNode(pipeline), labels),
        bars=bars,
        height=y + 4,
        description=translate("funnel_desc", stages="; ".join(parts)),
        ident=f"funnel-{zlib.crc32(pipeline.encode()):08x}",
    )


# --- timeline ----------------------------------------------------------------------------


@dataclass
class TimelineEvent:
    """One designation on the timeline."""

    conferral: TermView
    designation: TermView | None
    designation_text: str
    year: int
    date: str | None
    x: float
    label_y: float


@dataclass
class Timeline:
    """An organisation's designations along the years."""

    events: list[TimelineEvent]
    ticks: list[tuple[int, float]]
    description: str
    axis_y: float
    height: float
    width: int = WIDTH


def timeline_query(iri: str) -> str:
    """Return the query of the conferrals ``timeline_for`` draws."""
    node = sparql_iri(iri)
    return f"""SELECT DISTINCT ?conferral ?designation ?year ?date WHERE {{
  ?conferral <{ZI.recipient}> {node} .
  OPTIONAL {{ ?conferral <{ZI.designation}> ?designation }}
  OPTIONAL {{ ?conferral <{ZI.assessmentYear}> ?year }}
  OPTIONAL {{ ?conferral <{ZI.conferralDate}> ?date }}
}}"""


def timeline_for(iri: str) -> Timeline | None:
    """Return the timeline of the designations conferred on the node, or None if it has none."""
    rows = get_store().query(timeline_query(iri)).dicts()
    found: dict[str, tuple[int, dict[str, Term]]] = {}  # conferral -> its year and row
    for row in rows:
        year_text = term_value(row.get("year") or row.get("date") or ox.Literal(""))[:4]
        if not year_text.isdigit():
            continue
        found.setdefault(term_value(row["conferral"]), (int(year_text), row))
    if not found:
        return None
    labels = Labels().fetch(
        [iri]
        + list(found)
        + [term_value(r["designation"]) for _, r in found.values() if "designation" in r]
    )
    years = [year for year, _ in found.values()]
    first, last = min(years) - 1, max(years) + 1

    def x_of(year: int) -> float:
        return 40 + (WIDTH - 80) * (year - first) / (last - first)

    events: list[TimelineEvent] = []
    stacked: dict[int, int] = {}
    for conferral, (year, row) in sorted(found.items(), key=lambda item: (item[1][0], item[0])):
        level = stacked.get(year, 0)
        stacked[year] = level + 1
        designation = row.get("designation")
        events.append(
            TimelineEvent(
                conferral=term_view(ox.NamedNode(conferral), labels),
                designation=term_view(designation, labels) if designation is not None else None,
                designation_text=_short_label(designation.value, labels)
                if isinstance(designation, ox.NamedNode)
                else "?",
                year=year,
                date=format_date(term_value(row["date"])) if "date" in row else None,
                x=x_of(year),
                label_y=-18.0 * level,
            )
        )
    axis_y = 40.0 + 18 * (max(stacked.values()) - 1)
    for event in events:
        event.label_y += axis_y - 16
    items = "; ".join(f"{e.designation_text} {e.date or e.year}" for e in events)
    return Timeline(
        events=events,
        ticks=[(year, x_of(year)) for year in range(first, last + 1)],
        description=translate("timeline_desc", label=labels(iri), items=items),
        axis_y=axis_y,
        height=axis_y + 36,
    )


# --- neighbourhood -----------------------------------------------------------------------


@dataclass
class Neighbour:
    """A resource next to the entity and the properties linking them, in one direction."""

    node: TermView
    props: list[TermView]
    outgoing: bool


@dataclass
class Neighbourhood:
    """The entity in the middle, what links to it on one side, what it links to on the other.

    Drawn in HTML (boxes in columns that wrap their labels and stack on a phone), so no two
    boxes can overlap and every label is shown in full.
    """

    title: str
    incoming: list[Neighbour]
    outgoing: list[Neighbour]
    more_incoming: int
    more_outgoing: int


MOST_NEIGHBOURS = 8  # per side


def _side(pairs: list[tuple[TermView, TermView]], iri: str, outgoing: bool) -> list[Neighbour]:
    """Return one neighbour per resource, with every property that links it."""
    found: dict[str, Neighbour] = {}
    for node, prop in pairs:
        if node.value == iri:
            continue
        neighbour = found.setdefault(node.value, Neighbour(node, [], outgoing))
        if all(p.value != prop.value for p in neighbour.props):
            neighbour.props.append(prop)
    return list(found.values())


# Where a node's data comes from is shown beside its values, not drawn as a neighbour.
PROVENANCE_LINKS = tuple(
    str(p) for p in (PROV.wasDerivedFrom, DCTERMS.source, DCTERMS.hasPart, PROV.wasAttributedTo)
)


def neighbourhood(iri: str, title: str, statements, incoming) -> Neighbourhood | None:
    """Return the entity's neighbourhood from its statements and incoming links."""
    out_pairs = [
        (value, statement.prop)
        for statement in statements
        if statement.prop.value not in (str(RDF.type), *PROVENANCE_LINKS)
        for value in statement.values
        if value.kind == "iri"
    ]
    in_pairs = [
        (subject, group.prop)
        for group in incoming
        if group.prop.value not in PROVENANCE_LINKS
        for subject in group.subjects
        if subject.kind == "iri"
    ]
    outgoing, linking = _side(out_pairs, iri, True), _side(in_pairs, iri, False)
    if not outgoing and not linking:
        return None
    return Neighbourhood(
        title=title,
        incoming=linking[:MOST_NEIGHBOURS],
        outgoing=outgoing[:MOST_NEIGHBOURS],
        # A hub's groups hold one page of its links: the rest are counted, not drawn.
        more_incoming=max(0, len(linking) - MOST_NEIGHBOURS)
        + sum(group.total - len(group.subjects) for group in incoming),
        more_outgoing=max(0, len(outgoing) - MOST_NEIGHBOURS),
    )
