"""View helpers: IRIs as SPARQL, compact names and links; labels in the reader's language."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

import pyoxigraph as ox
from flask import current_app, g, has_request_context, url_for

from service.citations import Place, passage_title
from service.i18n import format_date, get_language, translate_to
from service.namespaces import (
    DCTERMS,
    ID_BASE,
    OA,
    ONTOLOGY_IRI,
    OWL,
    RDF,
    RDFS,
    SCHEMA,
    SH,
    SKOS,
    SOURCE_BASE,
    WD,
    XSD,
    ZI,
    ZSH,
    compact,
)
from service.pages import vocabulary
from service.settings import get_settings
from service.store import get_store
from service.terms import Term, literal, term_value

SHAPES_NS = str(ZSH)
DATE_TYPES = (str(XSD.date), str(XSD.gYearMonth), str(XSD.dateTime))
XSD_STRING = str(XSD.string)
XSD_BOOLEAN = str(XSD.boolean)
RDF_LANG_STRING = str(RDF.langString)

# Properties whose values name a node, in order of preference.
LABEL_PROPERTIES = tuple(str(p) for p in (SKOS.prefLabel, RDFS.label, DCTERMS.title, SH.name))
# Other names: acronyms (skos:altLabel) and what people are called (schema:alternateName).
ALT_LABELS = (str(SKOS.altLabel), str(SCHEMA.alternateName))
# A passage has no label of its own: it is named by where it is (paragraph and sentences) and
# the start of its quote.
PASSAGE_QUOTE = str(OA.exact)
PASSAGE_PLACE = tuple(str(p) for p in (ZI.paragraphNumber, ZI.firstSentence, ZI.lastSentence))
# A selector (where a passage sits in its text) has no label: it is named by what it selects.
SELECTOR_PARTS = tuple(str(p) for p in (OA.exact, OA.start, OA.end))
# An outside item (a Wikidata place) with no label of its own is named after the node of ours
# that says it is the same.
SAME_AS = tuple(str(p) for p in (SCHEMA.sameAs, OWL.sameAs))
# Marks, in the labels' query, the rows that name a selector or an outside item.
SELECTOR_MARK = "urn:zigraph:selector:"
SAME_AS_LABEL = "urn:zigraph:same-as-label"
SELECTOR_WORDS = 6
# Properties whose values describe a node in prose.
DESCRIPTION_PROPERTIES = tuple(str(p) for p in (SKOS.definition, DCTERMS.description, RDFS.comment))

_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def sparql_iri(iri: str) -> str:
    """Return ``<iri>`` for a SPARQL query, or raise ValueError if it cannot be an IRIREF."""
    if not iri or _IRI_FORBIDDEN.search(iri) or ":" not in iri:
        raise ValueError(f"not an IRI: {iri!r}")
    return f"<{iri}>"


def local_name(iri: str) -> str:
    """Return the last segment of an IRI, after ``#`` or ``/``."""
    return re.split(r"[#/]", iri.rstrip("/#"))[-1] or iri


def base_iri() -> str:
    """Return the entity IRI base this deployment answers for."""
    return get_settings().base_iri or ID_BASE


def is_linkable(iri: str) -> bool:
    """Return whether an IRI may become a link: only http and https ones."""
    return iri.startswith(("http://", "https://"))


# What Werkzeug leaves unquoted in a path converter's value (BaseConverter.to_url).
PATH_SAFE = "!$&'()*+,/:;=@"


def doc_href(path: str) -> str:
    """Return ``url_for("entity.doc", path=path)``, without a walk of the URL map per link.

    A page links forty entities or so; building each link through the URL map was a tenth
    of the page's work. The prefix (the script root and ``/doc/``) is built once a request.
    """
    prefix = g.get("zigraph_doc_prefix")
    if prefix is None:
        prefix = g.zigraph_doc_prefix = url_for("entity.doc", path="-")[:-1]
    return prefix + quote(path, safe=PATH_SAFE)


def local_href(iri: str) -> str | None:
    """Return this service's page for an IRI, or None when the IRI is not ours."""
    base = base_iri()
    if iri.startswith(base) and len(iri) > len(base):
        return doc_href(iri[len(base) :])
    if iri == ONTOLOGY_IRI or iri == str(ZI):
        return url_for("ontology.ontology")
    if iri.startswith(str(ZI)):
        return url_for("ontology.ontology") + "#" + quote(iri[len(str(ZI)) :])
    if iri.startswith(SHAPES_NS):
        return url_for("ontology.shapes") + "#" + quote(iri[len(SHAPES_NS) :])
    if iri.startswith(SOURCE_BASE):
        return url_for("entity.source_text", name=iri[len(SOURCE_BASE) :])
    return None


@dataclass(frozen=True)
class Link:
    """Where an IRI leads: a local page, an external page (rel=noopener), or nowhere."""

    href: str | None
    external: bool


def link_for(iri: str) -> Link:
    """Return the link for an IRI: local when ours, external when http(s), else none."""
    local = local_href(iri)
    if local is not None:
        return Link(local, False)
    if is_linkable(iri):
        return Link(iri, True)
    return Link(None, False)


def pick_language(values: Iterable[tuple[str, str]], lang: str | None = None) -> str | None:
    """Return the value in ``lang``, else Indonesian, English, untagged, then any."""
    by_language: dict[str, str] = {}
    for text, tag in sorted(values):
        by_language.setdefault(tag.lower().split("-")[0] if tag else "", text)
    for key in (lang or get_language(), "id", "en", ""):
        if key in by_language:
            return by_language[key]
    return next(iter(by_language.values()), None)


# What the store said of an IRI: (property, label, language tag) of each of its labels. Plain
# strings: kept for a data version, they cost the garbage collector nothing (ox terms did).
LabelRows = tuple[tuple[str, str, str], ...]


def _label_rows() -> dict[str, LabelRows]:
    """Return what the store said of each IRI whose labels were asked for in this request."""
    if not has_request_context():
        return {}
    return g.setdefault("zigraph_label_rows", {})


class KeptLabels:
    """What the store said of IRIs (their labels), kept by a web process for one data version.

    Pages name the same IRIs again and again: properties, classes, the ministry, the
    designations, the cities. Kept here, a page's labels query asks only for what no page
    before it named, on a store whose data is fixed for a version (``fixed_version``). At
    most ``most`` IRIs are kept; past that, those kept first go, down to three quarters.
    """

    def __init__(self, most: int) -> None:
        self.most = most
        self._kept: tuple[str | None, dict[str, LabelRows]] = (None, {})
        self._lock = threading.Lock()

    def get(self, version: str, iri: str) -> LabelRows | None:
        """Return what the store of ``version`` said of ``iri``, or None if it is not kept."""
        kept_version, rows = self._kept
        return rows.get(iri) if kept_version == version else None

    def put(self, version: str, said: dict[str, LabelRows]) -> None:
        """Keep what the store of ``version`` said of some IRIs (an empty tuple: nothing)."""
        with self._lock:
            kept_version, rows = self._kept
            if kept_version != version:
                rows = {}
            rows.update(said)
            if len(rows) > self.most:
                rows = dict(list(rows.items())[len(rows) - self.most * 3 // 4 :])
            self._kept = (version, rows)


KEPT_LABEL_IRIS = 4_000  # at most about 5 MB a web process (three labels an IRI)


def kept_labels() -> KeptLabels:
    """Return this application's kept labels."""
    kept = current_app.extensions.get("zigraph.kept_labels")
    if kept is None:
        kept = current_app.extensions.setdefault("zigraph.kept_labels", KeptLabels(KEPT_LABEL_IRIS))
    return kept


class Labels:
    """Labels of many IRIs, fetched with one query and picked by the reader's language."""

    def __init__(self) -> None:
        self._names: dict[str, dict[str, list[tuple[str, str]]]] = {}
        self._alts: dict[str, list[tuple[str, str]]] = {}
        self._quotes: dict[str, str] = {}
        self._places: dict[str, dict[str, int]] = {}
        self._selectors: dict[str, dict[str, str]] = {}
        self._same: dict[str, list[tuple[str, str]]] = {}
        self._asked: set[str] = set()

    def fetch(self, iris: Iterable[str]) -> Labels:
        """Fetch the labels of the IRIs not asked for yet.

        What the store said of an IRI is kept for the rest of the request, so the parts of
        one page that name the same IRIs ask the store about each once, and for the data
        version (``KeptLabels``), so that a page asks only about IRIs no page named before.
        """
        wanted: dict[str, str] = {}  # IRI -> its SPARQL form
        for iri in iris:
            if iri in self._asked:
                continue
            try:
                wanted[iri] = sparql_iri(iri)
            except ValueError:
                continue
            self._asked.add(iri)
        said = _label_rows()
        version = get_store().fixed_version()
        kept = kept_labels()
        if version is not None:
            for iri in wanted:
                if iri not in said and (rows := kept.get(version, iri)) is not None:
                    said[iri] = rows
        asked = [iri for iri in wanted if iri not in said]
        for start in range(0, len(asked), 200):
            values = " ".join(wanted[iri] for iri in asked[start : start + 200])
            # The properties as sameTerm tests, not ``?q IN (…)``: Virtuoso turned that into a
            # read of every triple of each property, joined with the IRIs after (by hand at a
            # million triples: 160-500 ms a page's labels, 12-20 ms this way; Oxigraph alike).
            properties = " || ".join(
                f"sameTerm(?q, <{p}>)"
                for p in (*LABEL_PROPERTIES, *ALT_LABELS, *PASSAGE_PLACE, *SELECTOR_PARTS)
            )
            selector = ", ".join(f"<{p}>" for p in SELECTOR_PARTS)
            # The sameAs properties as a path, not ?q filtered: the engine then reads only the
            # IRIs' sameAs links, not every link to them (a hub such as the designation WBK has
            # one from each conferral: 120-190 ms of each page that names it, at a million
            # triples).
            same_path = "|".join(f"<{p}>" for p in SAME_AS)
            # Each branch names its IRIs itself: the engine does not carry an outer VALUES
            # into a UNION, and a branch with ?x unbound read every label in the store (2 s
            # at a million triples; the sameAs branch never finished).
            result = get_store().query(
                "SELECT DISTINCT ?x ?p ?l WHERE { "
                f"{{ VALUES ?x {{ {values} }} ?x ?q ?l FILTER({properties}) "
                f"BIND(IF(?q IN ({selector}), IRI(CONCAT('{SELECTOR_MARK}', STR(?q))), ?q) "
                "AS ?p) } UNION "
                f"{{ VALUES ?x {{ {values} }} ?x <{OA.hasSelector}>/<{OA.exact}> ?l "
                f"BIND(<{OA.exact}> AS ?p) }} UNION "
                f"{{ VALUES ?x {{ {values} }} ?same {same_path} ?x . "
                f"?same <{SKOS.prefLabel}> ?l BIND(<{SAME_AS_LABEL}> AS ?p) }} "
                "FILTER(isLiteral(?l)) }"
            )
            found: dict[str, list[tuple[str, str, str]]] = {}
            for row in result.dicts():
                label = literal(row["l"])
                found.setdefault(term_value(row["x"]), []).append(
                    (term_value(row["p"]), label.value, label.language or "")
                )
            said.update((iri, tuple(rows)) for iri, rows in found.items())
        for iri in asked:
            said.setdefault(iri, ())  # the store said nothing of it
        if version is not None and asked:
            kept.put(version, {iri: said[iri] for iri in asked})
        for iri in wanted:
            for prop, value, language in said[iri]:
                pair = (value, language)
                if prop in ALT_LABELS:
                    self._alts.setdefault(iri, []).append(pair)
                elif prop == PASSAGE_QUOTE:
                    self._quotes[iri] = value
                elif prop in PASSAGE_PLACE:
                    self._places.setdefault(iri, {})[prop] = int(value)
                elif prop.startswith(SELECTOR_MARK):
                    self._selectors.setdefault(iri, {})[prop[len(SELECTOR_MARK) :]] = value
                elif prop == SAME_AS_LABEL:
                    self._same.setdefault(iri, []).append(pair)
                else:
                    self._names.setdefault(iri, {}).setdefault(prop, []).append(pair)
        return self

    def get(self, iri: str, lang: str | None = None) -> str | None:
        """Return the IRI's label in the reader's language, or None when it has none."""
        names = self._names.get(iri, {})
        for prop in LABEL_PROPERTIES:
            if prop in names:
                return pick_language(names[prop], lang)
        declared = vocabulary.label(iri, lang or get_language())
        if declared is not None:
            return declared
        if iri in self._quotes:
            return passage_title(
                self.place(iri), self._quotes[iri], local_name(iri), lang or get_language()
            )
        if iri in self._selectors:
            return self._selector_name(self._selectors[iri], lang or get_language())
        if iri in self._same:
            return self._same_as_name(iri, lang or get_language())
        return None

    @staticmethod
    def _selector_name(parts: dict[str, str], lang: str) -> str:
        """Return "position selector: characters 780–1145" or "quote selector “Penghargaan…”"."""
        exact = parts.get(str(OA.exact))
        if exact is not None:
            words = exact.split()
            start = " ".join(words[:SELECTOR_WORDS]) + ("…" if len(words) > SELECTOR_WORDS else "")
            return translate_to(lang, "selector_quote", quote=start)
        return translate_to(
            lang,
            "selector_position",
            start=parts.get(str(OA.start), "?"),
            end=parts.get(str(OA.end), "?"),
        )

    def _same_as_name(self, iri: str, lang: str) -> str:
        """Return "Kota Pekalongan (Wikidata Q11026)": our label of it, and where it is."""
        label = pick_language(self._same[iri], lang) or local_name(iri)
        if iri.startswith(str(WD)):
            return translate_to(lang, "same_as_wikidata", label=label, item=local_name(iri))
        return label

    def place(self, iri: str) -> Place:
        """Return where a passage is, as far as the data says."""
        known = self._places.get(iri, {})
        paragraph, first, last = (known.get(p) for p in PASSAGE_PLACE)
        return Place(paragraph, first, last)

    def names(self, iri: str) -> list[str]:
        """Return every label and acronym of the IRI, in every language."""
        found = [text for pairs in self._names.get(iri, {}).values() for text, _ in pairs]
        return found + [text for text, _ in self._alts.get(iri, [])]

    def quote(self, iri: str) -> str | None:
        """Return the exact words a passage quotes, or None when the IRI is not a passage."""
        return self._quotes.get(iri)

    def __call__(self, iri: str, lang: str | None = None) -> str:
        """Return the IRI's label, else its acronym, else its local name."""
        return (
            self.get(iri, lang) or pick_language(self._alts.get(iri, []), lang) or local_name(iri)
        )

    def of_property(self, iri: str, lang: str | None = None) -> str:
        """Return a property's label, else its compact IRI."""
        return self.get(iri, lang) or compact(iri)

    def of_inverse(self, iri: str, lang: str | None = None) -> str:
        """Return how a property reads from its object's page ("received", not "recipient")."""
        lang = lang or get_language()
        declared = vocabulary.inverse_label(iri, lang)
        if declared is not None:
            return declared
        forward = self.of_property(iri, lang)
        return translate_to(lang, "entity_inverse_of", property=forward)

    def alternatives(self, iri: str) -> list[str]:
        """Return the IRI's alternative labels (acronyms), sorted."""
        return sorted({text for text, _ in self._alts.get(iri, [])})


def short_place(place: Place) -> str | None:
    """Return "4.1" (paragraph 4, sentence 1) or "4.1–2", or None when the place is unknown."""
    if place.paragraph is None or place.first is None:
        return None
    last = f"–{place.last}" if place.last not in (None, place.first) else ""
    return f"{place.paragraph}.{place.first}{last}"


@dataclass(frozen=True)
class TermView:
    """An RDF term ready for a template: its text, link and discreet annotations."""

    kind: str  # "iri", "bnode" or "literal"
    value: str
    text: str
    href: str | None = None
    external: bool = False
    language: str | None = None
    datatype: str | None = None
    title: str | None = None


def term_view(term: Term, labels: Labels) -> TermView:
    """Return a term's view: IRIs labelled and linked, literals with language or datatype."""
    if isinstance(term, ox.NamedNode):
        link = link_for(term.value)
        return TermView(
            "iri",
            term.value,
            labels(term.value),
            link.href,
            link.external,
            title=term.value,
        )
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        shown = None if datatype in (XSD_STRING, RDF_LANG_STRING) else compact(datatype)
        text = format_date(term.value) if datatype in DATE_TYPES else term.value
        if datatype == XSD_BOOLEAN and term.value in ("true", "false", "1", "0"):
            text = translate_to(get_language(), f"value_{term.value in ('true', '1')}".lower())
        return TermView(
            "literal", term.value, text, language=term.language, datatype=shown, title=term.value
        )
    if isinstance(term, ox.BlankNode):
        return TermView("bnode", term.value, "_:" + term.value)
    return TermView("literal", str(term), str(term))


def fold(text: str) -> str:
    """Return text folded for matching: accents removed, case folded, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())
