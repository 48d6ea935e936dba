"""An entity's RDF document that stands alone: what it says, what points to it, and about itself.

The document is the entity's symmetric concise bounded description (outgoing triples with
their blank nodes, and incoming triples), the labels of the resources it links to, the
passages its facts are derived from, and statements about the document (its topic, licence,
dataset and date). Its Turtle binds only the prefixes it uses.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyoxigraph as ox

from service.descriptions import data_time
from service.namespaces import (
    DATASET_IRI,
    DCTERMS,
    FOAF,
    HYDRA,
    ID_BASE,
    OA,
    PREFIXES,
    PROV,
    RDF,
    RDFS,
    SCHEMA,
    SKOS,
    VOID,
    XSD,
    ZI,
)
from service.pages.labels import sparql_iri
from service.store import get_store
from service.terms import Term, as_triple, term_value
from service.urls import public_url

DATA_LICENCE = "https://creativecommons.org/licenses/by/4.0/"
LINKS_PER_PROPERTY = 100  # subjects of each property linking to the entity, in its document
SORTED_UP_TO = 500  # links of one property read in IRI order; a hub's in the store's order
NAME_PROPERTIES = (SKOS.prefLabel, RDFS.label)
# A local name Turtle writes after a prefix without escapes (no "/", no trailing ".").
PLAIN_LOCAL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")
PLAIN_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def _triples(query: str) -> list[ox.Triple]:
    return [as_triple(row) for row in get_store().query(query).rows]


def describe(iri: str) -> list[ox.Triple]:
    """Return the IRI's outgoing triples, their blank nodes' and the provenance they cite.

    A count the sources dispute comes with every claimed value and the passages of each.
    """
    return _triples(describe_query(iri))


def describe_query(iri: str) -> str:
    """Return the query of ``describe``."""
    node = sparql_iri(iri)
    blank = "FILTER(isBlank(?s))"
    derived = f"<{PROV.wasDerivedFrom}>"
    claimed = f"<{ZI.claimedCount}>/{derived}"
    selectors = f"FILTER(isBlank(?s) || ?e = <{OA.hasSelector}>)"
    return f"""SELECT DISTINCT ?s ?p ?o WHERE {{
  {{ BIND({node} AS ?s) }}
  UNION {{ {node} ?a ?s {blank} }}
  UNION {{ {node} ?a ?b . FILTER(isBlank(?b)) ?b ?c ?s {blank} }}
  UNION {{ {node} <{ZI.claimedCount}> ?s }}
  UNION {{ {node} {derived} ?s }}
  UNION {{ {node} {claimed} ?s }}
  UNION {{ {node} {derived} ?d . ?d ?e ?s {selectors} }}
  UNION {{ {node} {claimed} ?d . ?d ?e ?s {selectors} }}
  ?s ?p ?o
}}"""


def incoming_counts(iri: str) -> dict[str, int]:
    """Return each property linking to the IRI with its number of distinct subjects."""
    rows = get_store().query(incoming_counts_query(iri)).rows
    return {term_value(p): int(term_value(n)) for p, n in rows if isinstance(p, ox.NamedNode)}


def incoming_counts_query(iri: str) -> str:
    """Return the query of ``incoming_counts``."""
    return f"SELECT ?p (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s ?p {sparql_iri(iri)} }} GROUP BY ?p"


def linking_subjects(iri: str, prop: str, total: int, first: int, count: int) -> list[Term]:
    """Return ``count`` subjects linking to the IRI through ``prop``, from the ``first`` (0-based).

    Up to SORTED_UP_TO links are read in IRI order; a hub's in the store's own order, which is
    stable for a data version, because sorting a hundred thousand costs the engine seconds.
    """
    rows = get_store().query(linking_subjects_query(iri, prop, total, first, count)).rows
    return [row[0] for row in rows if row[0] is not None]


def linking_subjects_query(iri: str, prop: str, total: int, first: int, count: int) -> str:
    """Return the query of ``linking_subjects``."""
    order = " ORDER BY ?s" if total <= SORTED_UP_TO else ""
    return (
        f"SELECT DISTINCT ?s WHERE {{ ?s {sparql_iri(prop)} {sparql_iri(iri)} }}{order} "
        f"LIMIT {count} OFFSET {first}"
    )


def linking_query(iri: str, prop: str) -> str:
    """Return the SPARQL query that lists every subject linking to the IRI through ``prop``."""
    return f"SELECT ?s WHERE {{\n  ?s {sparql_iri(prop)} {sparql_iri(iri)}\n}}\nORDER BY ?s"


def entity_document(iri: str, document_url: str) -> list[ox.Triple]:
    """Return the triples of an entity's standalone document served at ``document_url``.

    Of the triples linking to the entity it holds LINKS_PER_PROPERTY per property; where a
    property has more, a hydra:Collection says how many and where the query for all is.
    """
    document = ox.NamedNode(document_url)
    triples = describe(iri)
    facts: list[str] = []
    for index, (prop, total) in enumerate(sorted(incoming_counts(iri).items())):
        subjects = linking_subjects(iri, prop, total, 0, LINKS_PER_PROPERTY)
        triples += [
            ox.Triple(s, ox.NamedNode(prop), ox.NamedNode(iri))  # type: ignore[arg-type]
            for s in subjects
        ]
        facts += [s.value for s in subjects if isinstance(s, ox.NamedNode)]
        if total > len(subjects):
            triples += _collection(document, index, iri, prop, total)
    linked = sorted(
        {
            term.value
            for t in triples
            for term in (t.subject, t.object)
            if isinstance(term, ox.NamedNode) and term.value != iri
        }
    )
    if linked:
        values = " ".join(sparql_iri(i) for i in linked if _is_iri(i))
        # One pattern per name property: two VALUES blocks joined with ?s ?p ?o make the
        # engine scan the store (6.9 s for 300 IRIs at a million triples; this 18 ms).
        names = " UNION ".join(f"{{ ?s <{p}> ?o BIND(<{p}> AS ?p) }}" for p in NAME_PROPERTIES)
        triples += _triples(f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} {names} }}")
    if facts:
        # The passages the linking facts are derived from, with their quotes and positions.
        values = " ".join(sparql_iri(f) for f in facts)
        triples += _triples(
            f"""SELECT DISTINCT ?s ?p ?o WHERE {{
  VALUES ?fact {{ {values} }}
  {{ ?fact <{PROV.wasDerivedFrom}> ?o BIND(?fact AS ?s) BIND(<{PROV.wasDerivedFrom}> AS ?p) }}
  UNION {{ ?fact <{PROV.wasDerivedFrom}> ?s . ?s ?p ?o }}
  UNION {{ ?fact <{PROV.wasDerivedFrom}>/<{OA.hasSelector}> ?s . ?s ?p ?o }}
}}"""
        )
    triples += [
        ox.Triple(document, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(FOAF.Document))),
        ox.Triple(document, ox.NamedNode(str(FOAF.primaryTopic)), ox.NamedNode(iri)),
        ox.Triple(document, ox.NamedNode(str(DCTERMS.license)), ox.NamedNode(DATA_LICENCE)),
        ox.Triple(document, ox.NamedNode(str(VOID.inDataset)), ox.NamedNode(DATASET_IRI)),
    ]
    modified = data_time()  # the data's own time, never when the store was built
    if modified:
        when = datetime.fromisoformat(modified.replace("Z", "+00:00"))
        when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
        triples.append(
            ox.Triple(
                document,
                ox.NamedNode(str(DCTERMS.modified)),
                ox.Literal(
                    when.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=ox.NamedNode(XSD.dateTime)
                ),
            )
        )
    return sorted(set(triples), key=str)


def _collection(
    document: ox.NamedNode, index: int, iri: str, prop: str, total: int
) -> list[ox.Triple]:
    """Return a hydra:Collection of every subject linking to the IRI through ``prop``."""
    collection = ox.NamedNode(f"{document.value}#linked-by-{index + 1}")
    manages = ox.BlankNode()
    query = public_url("sparql.query", query=linking_query(iri, prop))
    return [
        ox.Triple(document, ox.NamedNode(str(HYDRA.collection)), collection),
        ox.Triple(collection, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(HYDRA.Collection))),
        ox.Triple(
            collection,
            ox.NamedNode(str(HYDRA.totalItems)),
            ox.Literal(str(total), datatype=ox.NamedNode(XSD.integer)),
        ),
        ox.Triple(collection, ox.NamedNode(str(HYDRA.manages)), manages),
        ox.Triple(manages, ox.NamedNode(str(HYDRA.property)), ox.NamedNode(prop)),
        ox.Triple(manages, ox.NamedNode(str(HYDRA.object)), ox.NamedNode(iri)),
        ox.Triple(collection, ox.NamedNode(str(RDFS.seeAlso)), ox.NamedNode(query)),
    ]


def _is_iri(iri: str) -> bool:
    try:
        sparql_iri(iri)
    except ValueError:
        return False
    return True


def used_prefixes(triples: list[ox.Triple]) -> dict[str, str]:
    """Return the prefixes the triples use, each only where every local name stays plain.

    Entity IRIs get one prefix per kind (``organisation:``, ``conferral:``), as in the data
    files; a namespace under which some local name would need an escape is not bound.
    """
    iris = set()
    for triple in triples:
        # Turtle writes rdf:type as "a".
        predicate = () if triple.predicate.value == str(RDF.type) else (triple.predicate,)
        for term in (triple.subject, *predicate, triple.object):
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal) and not term.language:
                iris.add(term.datatype.value)
    # Turtle writes these literals without their datatype: "text", 39, true, 1.5.
    iris -= {str(XSD.string), str(XSD.integer), str(XSD.boolean), str(XSD.decimal)}
    candidates = {k: v for k, v in PREFIXES.items() if v != ID_BASE}
    for iri in iris:
        if iri.startswith(ID_BASE):
            kind = iri[len(ID_BASE) :].split("/")[0]
            if PLAIN_PREFIX.match(kind) and kind not in candidates:
                candidates[kind] = f"{ID_BASE}{kind}/"
    used = {}
    for prefix, namespace in candidates.items():
        locals_ = [i[len(namespace) :] for i in iris if i.startswith(namespace)]
        if locals_ and all(PLAIN_LOCAL.match(local) for local in locals_):
            used[prefix] = namespace
    return dict(sorted(used.items()))


# Our classes and the schema.org type search engines know them by, where the ontology does
# not say it through rdfs:subClassOf.
SCHEMA_TYPES = {
    "https://w3id.org/zigraph/ontology#DesignationConferral": SCHEMA.Event,
    "https://w3id.org/zigraph/ontology#SelectionStage": SCHEMA.Thing,
    "https://w3id.org/zigraph/ontology#Designation": SCHEMA.DefinedTerm,
    "https://w3id.org/zigraph/ontology#Passage": SCHEMA.Quotation,
    "https://w3id.org/zigraph/ontology#Statement": SCHEMA.CreativeWork,
}


def classes_of(iri: str) -> set[str]:
    """Return the IRI's classes and every class above them (rdfs:subClassOf)."""
    rows = get_store().query(classes_query(iri)).rows
    return {row[0].value for row in rows if isinstance(row[0], ox.NamedNode)}


def classes_query(iri: str) -> str:
    """Return the query of ``classes_of``."""
    node = sparql_iri(iri)
    return f"""SELECT DISTINCT ?c WHERE {{
  {{ {node} a ?c }} UNION {{ {node} a/<{RDFS.subClassOf}>+ ?c }}
}}"""


def search_engine_view(iri: str, triples: list[ox.Triple]) -> list[ox.Triple]:
    """Return the entity's triples with the schema.org types and names search engines read."""
    node = ox.NamedNode(iri)
    classes = classes_of(iri)
    types = {c for c in classes if c.startswith(str(SCHEMA))}
    types |= {str(SCHEMA_TYPES[c]) for c in classes if c in SCHEMA_TYPES}
    extra = [ox.Triple(node, ox.NamedNode(str(RDF.type)), ox.NamedNode(t)) for t in sorted(types)]
    extra += [
        ox.Triple(node, ox.NamedNode(str(SCHEMA.name)), t.object)
        for t in triples
        if t.subject == node and t.predicate.value == str(SKOS.prefLabel)
    ]
    extra += [
        ox.Triple(node, ox.NamedNode(str(SCHEMA.description)), t.object)
        for t in triples
        if t.subject == node and t.predicate.value == str(SKOS.definition)
    ]
    return [t for t in triples if t.subject == node] + extra
