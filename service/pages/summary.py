"""The sentences at the top of an entity page: what it is and what matters about it, from data.

One summary per main class (a conferral, an organisation, a person, a selection stage, a
ceremony, a selection pipeline, a news article, a passage), in the reader's language; links
are escaped markup built here, the words come from i18n.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pyoxigraph as ox
from markupsafe import Markup

from service.citations import locator
from service.i18n import format_date, get_language, translate
from service.namespaces import OA, ORG, PROV, RDF, SCHEMA, ZI
from service.pages import document
from service.pages.charts import count_text
from service.pages.labels import Labels, link_for, sparql_iri
from service.store import get_store
from service.terms import Term, term_value

MOST_LISTED = 5  # links a summary names; it counts the rest
# The first class (through rdfs:subClassOf) an entity belongs to decides its summary.
KINDS = (
    (ZI.DesignationConferral, "conferral"),
    (ZI.SelectionStage, "stage"),
    (ZI.SelectionPipeline, "pipeline"),
    (ZI.Ceremony, "ceremony"),
    (SCHEMA.NewsArticle, "article"),
    (ZI.Passage, "passage"),
    (SCHEMA.Person, "person"),
    (ZI.PublicOrganisation, "organisation"),
    (ORG.Organization, "organisation"),
    (SCHEMA.Organization, "organisation"),
    (SCHEMA.NewsMediaOrganization, "organisation"),
)


def _sentence(key: str, **parts: object) -> Markup:
    """Return an interface sentence with escaped parts (links stay links)."""
    return Markup(translate(key)).format(**parts)


def _link(iri: str, labels: Labels, short: bool = False) -> Markup:
    text = labels(iri)
    if short and labels.alternatives(iri):
        text = min(labels.alternatives(iri), key=len)
    href = link_for(iri).href
    if href is None:
        return Markup("{}").format(text)
    return Markup('<a href="{}" title="{}">{}</a>').format(href, labels(iri), text)


def _value(term: Term | None, labels: Labels, short: bool = False) -> Markup:
    if isinstance(term, ox.NamedNode):
        return _link(term.value, labels, short)
    if isinstance(term, ox.Literal):
        return Markup("{}").format(format_date(term.value))
    return Markup("")


def kind_of(iri: str) -> str | None:
    """Return which summary the entity gets, or None when it is not of a main class."""
    classes = document.classes_of(iri)
    return next((name for cls, name in KINDS if str(cls) in classes), None)


def _first(triples: list[ox.Triple], iri: str, prop) -> Term | None:
    subject = ox.NamedNode(iri)
    found = sorted(
        (t.object for t in triples if t.subject == subject and t.predicate.value == str(prop)),
        key=str,
    )
    return found[0] if found else None


def _objects(triples: list[ox.Triple], iri: str, prop) -> list[str]:
    """Return the IRIs the entity links to through the property, sorted."""
    subject = ox.NamedNode(iri)
    return sorted(
        t.object.value
        for t in triples
        if t.subject == subject
        and t.predicate.value == str(prop)
        and isinstance(t.object, ox.NamedNode)
    )


def _rows(query: str, labels: Labels) -> list[dict[str, Term]]:
    rows = get_store().query(query).dicts()
    labels.fetch(t.value for row in rows for t in row.values() if isinstance(t, ox.NamedNode))
    return rows


def summarise(iri: str, triples: list[ox.Triple], labels: Labels) -> list[Markup]:
    """Return the entity's summary sentences in the reader's language (none for other kinds)."""
    kind = kind_of(iri)
    if kind == "conferral":
        return _conferral(iri, triples, labels)
    if kind == "organisation":
        return _organisation(iri, triples, labels)
    if kind == "person":
        return _person(iri, labels)
    if kind == "stage":
        return _stage(iri, labels)
    if kind == "pipeline":
        return _pipeline(iri, triples, labels)
    if kind == "ceremony":
        return _ceremony(iri, triples, labels)
    if kind == "article":
        return _article(iri, triples, labels)
    if kind == "passage":
        return _passage(iri, labels)
    return []


def _optional(key: str, value: Markup, **more: object) -> Markup:
    return _sentence(key, value=value, **more) if value else Markup("")


def _conferral(iri: str, triples: list[ox.Triple], labels: Labels) -> list[Markup]:
    def value(prop, short: bool = False) -> Markup:
        return _value(_first(triples, iri, prop), labels, short)

    return [
        _sentence(
            "summary_conferral",
            recipient=value(ZI.recipient),
            designation=value(ZI.designation, short=True),
            year=_optional("summary_year", value(ZI.assessmentYear)),
            by=_optional("summary_from", value(ZI.conferredBy)),
            handed=_optional("summary_handed", value(ZI.handedOverBy)),
            date=_optional("summary_on", value(ZI.conferralDate)),
            ceremony=_optional("summary_ceremony", value(ZI.ceremony)),
        )
    ]


def _received_query(iri: str) -> str:
    return f"""SELECT ?c ?designation ?year ?by WHERE {{
  ?c <{ZI.recipient}> {sparql_iri(iri)} .
  OPTIONAL {{ ?c <{ZI.designation}> ?designation }}
  OPTIONAL {{ ?c <{ZI.assessmentYear}> ?year }}
  OPTIONAL {{ ?c <{ZI.conferredBy}> ?by }}
}} ORDER BY ?year ?c"""


def _named_stage_query(iri: str) -> str:
    return f"""SELECT ?stage ?pipeline WHERE {{
  ?stage <{ZI.namedMember}> {sparql_iri(iri)} . ?pipeline <{ZI.hasStage}> ?stage .
  OPTIONAL {{ ?stage <{ZI.stageOrder}> ?order }}
}} ORDER BY DESC(?order) LIMIT 1"""


def _organisation(iri: str, triples: list[ox.Triple], labels: Labels) -> list[Markup]:
    kind = _first(triples, iri, RDF.type)
    parent = _first(triples, iri, ORG.unitOf)
    sentences = [
        _sentence(
            "summary_org_kind",
            label=labels(iri),
            kind=labels(kind.value) if isinstance(kind, ox.NamedNode) else "",
            part_of=_optional("summary_part_of", _value(parent, labels)),
        )
    ]
    received = _rows(_received_query(iri), labels)
    for row in received:
        sentences.append(
            _sentence(
                "summary_org_received",
                designation=_value(row.get("designation"), labels, short=True),
                year=_optional("summary_year", _value(row.get("year"), labels)),
                by=_optional("summary_from", _value(row.get("by"), labels)),
                conferral=_link(term_value(row["c"]), labels),
            )
        )
    named = _rows(_named_stage_query(iri), labels)
    for row in named:
        sentences.append(
            _sentence(
                "summary_org_stage",
                stage=_link(term_value(row["stage"]), labels),
                pipeline=_link(term_value(row["pipeline"]), labels),
            )
        )
    return sentences


def _posts_query(iri: str) -> str:
    return f"""SELECT DISTINCT ?post ?org ?date WHERE {{
  ?holding <{ORG.member}> {sparql_iri(iri)} ; <{ZI.post}> ?post .
  OPTIONAL {{ ?holding <{ORG.organization}> ?org }}
  OPTIONAL {{ ?holding <{ZI.heldOn}> ?date }}
}} ORDER BY ?date ?post"""


def _said_query(iri: str) -> str:
    return f"SELECT DISTINCT ?s WHERE {{ ?s <{ZI.speaker}> {sparql_iri(iri)} }} ORDER BY ?s"


def _person(iri: str, labels: Labels) -> list[Markup]:
    sentences = []
    posts = _rows(_posts_query(iri), labels)
    for row in posts:
        sentences.append(
            _sentence(
                "summary_person_post",
                post=_link(term_value(row["post"]), labels),
                org=_optional("summary_at", _value(row.get("org"), labels)),
                date=_optional("summary_on", _value(row.get("date"), labels)),
            )
        )
    said = _rows(_said_query(iri), labels)
    if said:
        links = Markup("; ").join(_link(term_value(row["s"]), labels) for row in said)
        template = translate("summary_person_statements", n=len(said), statements="{statements}")
        sentences.append(Markup(template).format(statements=links))
    return sentences


def _stages_query(iri: str, pipeline: bool = False) -> str:
    which = (
        f"BIND({sparql_iri(iri)} AS ?pipeline) ?pipeline <{ZI.hasStage}> ?stage ."
        if pipeline
        else f"?pipeline <{ZI.hasStage}> {sparql_iri(iri)} ; <{ZI.hasStage}> ?stage ."
    )
    return f"""SELECT ?pipeline ?stage ?order ?count WHERE {{
  {which}
  OPTIONAL {{ ?stage <{ZI.stageOrder}> ?order }}
  OPTIONAL {{ ?stage <{ZI.memberCount}>|<{ZI.claimedCount}>/<{ZI.memberCount}> ?count }}
}} ORDER BY ?order ?stage"""


def _members_query(iri: str) -> str:
    return f"SELECT ?m WHERE {{ {sparql_iri(iri)} <{ZI.namedMember}> ?m }} ORDER BY ?m"


def _stages(iri: str, labels: Labels, pipeline: bool = False) -> list[dict]:
    """Return the stages of the stage's pipeline (or the pipeline's) in order, with their counts.

    Counts the sources dispute (zi:claimedCount) are all kept: none is picked.
    """
    rows = _rows(_stages_query(iri, pipeline), labels)
    stages: dict[tuple[str, str], dict] = {}
    for row in rows:
        stage = stages.setdefault(
            (term_value(row["pipeline"]), term_value(row["stage"])), {**row, "counts": set()}
        )
        if "count" in row and term_value(row["count"]).isdigit():
            stage["counts"].add(int(term_value(row["count"])))
    return list(stages.values())


def _stage(iri: str, labels: Labels) -> list[Markup]:
    rows = _stages(iri, labels)
    if not rows:
        return []
    stages = [row for row in rows if row["pipeline"] == rows[0]["pipeline"]]
    position = next(i for i, row in enumerate(stages) if term_value(row["stage"]) == iri)
    here = stages[position]
    members = _rows(_members_query(iri), labels)
    named = Markup(", ").join(_link(term_value(row["m"]), labels, short=True) for row in members)
    counts = sorted(here["counts"])
    if len(counts) > 1:
        how_many = translate("summary_members_disputed", counts=count_text(counts))
    else:
        how_many = translate("summary_members", n=counts[0] if counts else len(members))
    sentences = [
        _sentence(
            "summary_stage",
            order=position + 1,
            total=len(stages),
            pipeline=_link(here["pipeline"].value, labels),
            members=how_many,
            named=_optional("summary_named", named),
        )
    ]
    for key, other in (("summary_previous", position - 1), ("summary_next", position + 1)):
        if 0 <= other < len(stages):
            row = stages[other]
            sentences.append(
                _sentence(
                    key,
                    stage=_link(term_value(row["stage"]), labels),
                    count=count_text(sorted(row["counts"])) or "?",
                )
            )
    return sentences


def _listed(links: list[Markup], more: int = 0) -> Markup:
    """Return links as a reader lists them: "A, B dan C", or "A, B, C dan 4 lainnya"."""
    if more:
        return Markup(", ").join(links) + Markup(translate("summary_and_more", n=more))
    if len(links) < 2:
        return links[0] if links else Markup("")
    return Markup(", ").join(links[:-1]) + Markup(translate("summary_and")) + links[-1]


def _counted(key: str, n: int, links: list[Markup]) -> Markup:
    """Return a sentence counting n things and naming the first of them (links, escaped)."""
    template = translate(key, n=n, items="{items}")
    return Markup(template).format(items=_listed(links, n - len(links)))


def _pipeline(iri: str, triples: list[ox.Triple], labels: Labels) -> list[Markup]:
    designations = _objects(triples, iri, ZI.designation)
    sentences = []
    proposer = _first(triples, iri, ZI.proposedBy)
    if proposer is not None:
        sentences.append(
            _sentence(
                "summary_pipeline",
                proposer=_value(proposer, labels),
                designations=_listed([_link(d, labels, short=True) for d in designations]),
                year=_optional(
                    "summary_pipeline_year", _value(_first(triples, iri, ZI.forYear), labels)
                ),
                to=_optional(
                    "summary_pipeline_to",
                    _value(_first(triples, iri, ZI.proposedTo), labels, short=True),
                ),
            )
        )
    stages = _stages(iri, labels, pipeline=True)
    if stages:
        funnel = Markup(" → ").join(
            Markup("{} ({})").format(
                _link(term_value(row["stage"]), labels), count_text(sorted(row["counts"])) or "?"
            )
            for row in stages
        )
        sentences.append(_sentence("summary_pipeline_stages", stages=funnel))
    return sentences


def _part_of_query(iri: str) -> str:
    node = sparql_iri(iri)
    return f"""SELECT ?event WHERE {{
  {{ {node} <{SCHEMA.superEvent}> ?event }} UNION {{ ?event <{SCHEMA.subEvent}> {node} }}
}} ORDER BY ?event LIMIT 1"""


def _conferred_query(iri: str) -> str:
    return f"SELECT DISTINCT ?c WHERE {{ ?c <{ZI.ceremony}> {sparql_iri(iri)} }} ORDER BY ?c"


def _ceremony(iri: str, triples: list[ox.Triple], labels: Labels) -> list[Markup]:
    mode = _first(triples, iri, SCHEMA.eventAttendanceMode)
    part_of = _rows(_part_of_query(iri), labels)
    sentences = [
        _sentence(
            "summary_ceremony_kind",
            date=_optional("summary_on", _value(_first(triples, iri, SCHEMA.startDate), labels)),
            mode=_optional(
                "summary_mode",
                Markup("{}").format(labels(mode.value))
                if isinstance(mode, ox.NamedNode)
                else Markup(""),
            ),
            part_of=_optional(
                "summary_part_of",
                _link(term_value(part_of[0]["event"]), labels) if part_of else Markup(""),
            ),
        )
    ]
    conferred = _rows(_conferred_query(iri), labels)
    if conferred:
        links = [_link(term_value(row["c"]), labels) for row in conferred[:MOST_LISTED]]
        sentences.append(_counted("summary_ceremony_conferred", len(conferred), links))
    return sentences


def _passage_count_query(iri: str) -> str:
    return f"SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {{ ?p <{OA.hasSource}> {sparql_iri(iri)} }}"


def _article(iri: str, triples: list[ox.Triple], labels: Labels) -> list[Markup]:
    publisher = _first(triples, iri, SCHEMA.publisher)
    reported = _first(triples, iri, SCHEMA.temporalCoverage)
    sentences = [
        _sentence(
            "summary_article",
            by=_optional("summary_article_by", _value(publisher, labels)),
            reported=_optional("summary_article_reported", _value(reported, labels)),
        )
    ]
    about = _objects(triples, iri, SCHEMA.about)
    if about:
        links = [_link(a, labels) for a in about[:MOST_LISTED]]
        sentences.append(_counted("summary_article_about", len(about), links))
    rows = get_store().query(_passage_count_query(iri)).rows
    passages = int(term_value(rows[0][0])) if rows and rows[0][0] is not None else 0
    if passages:
        sentences.append(Markup("{}").format(translate("summary_article_passages", n=passages)))
    return sentences


def _documents_query(iri: str) -> str:
    return f"SELECT ?doc WHERE {{ {sparql_iri(iri)} <{OA.hasSource}> ?doc }} ORDER BY ?doc LIMIT 1"


def _facts_query(iri: str) -> str:
    return (
        f"SELECT DISTINCT ?f WHERE {{ ?f <{PROV.wasDerivedFrom}> {sparql_iri(iri)} }} "
        f"ORDER BY ?f LIMIT {MOST_LISTED + 1}"
    )


def _passage(iri: str, labels: Labels) -> list[Markup]:
    node = sparql_iri(iri)
    documents = _rows(_documents_query(iri), labels)
    where = locator(labels.place(iri), get_language())
    sentences = []
    if documents:
        document = _link(term_value(documents[0]["doc"]), labels)
        sentences.append(
            _sentence("summary_passage", where=where[0].upper() + where[1:], document=document)
            if where
            else _sentence("summary_passage_unplaced", document=document)
        )
    facts = _rows(_facts_query(iri), labels)
    if facts:
        total = len(facts)
        if total > MOST_LISTED:
            counted = (
                get_store()
                .query(
                    f"SELECT (COUNT(DISTINCT ?f) AS ?n) "
                    f"WHERE {{ ?f <{PROV.wasDerivedFrom}> {node} }}"
                )
                .rows
            )
            total = int(term_value(counted[0][0]))
        links = [_link(term_value(row["f"]), labels) for row in facts[:MOST_LISTED]]
        sentences.append(_counted("summary_passage_facts", total, links))
    return sentences


# The queries of each kind's summary, which need nothing but the entity's IRI.
QUERIES: dict[str, tuple[Callable[[str], str], ...]] = {
    "organisation": (_received_query, _named_stage_query),
    "person": (_posts_query, _said_query),
    "stage": (_stages_query, _members_query),
    "pipeline": (partial(_stages_query, pipeline=True),),
    "ceremony": (_part_of_query, _conferred_query),
    "article": (_passage_count_query,),
    "passage": (_documents_query, _facts_query),
}


def summary_queries(iri: str) -> list[str]:
    """Return the queries the entity's summary asks, to be sent with the page's others."""
    return [query(iri) for query in QUERIES.get(kind_of(iri) or "", ())]


def named_in_summary(iri: str) -> list[str]:
    """Return the IRIs the entity's summary names, for their labels (as ``named_in_charts``)."""
    store = get_store()
    return [
        term.value
        for text in summary_queries(iri)
        for row in store.query(text).rows
        for term in row
        if isinstance(term, ox.NamedNode)
    ]
