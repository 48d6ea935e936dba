"""Ready citations of an article, a passage or a fact, from the data: a sentence, BibTeX, CSL, RIS.

A passage is named by where it is ("paragraf 4, kalimat 1"); an article without a headline is
cited by its descriptive label in square brackets; the date it reports and its publication date
are kept apart, and a publication date the curators inferred is said to be one.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field

import pyoxigraph as ox
from babel.dates import format_date as babel_format_date
from flask import Blueprint, Response, abort, request

from service.i18n import LANGUAGES, format_date, get_language, translate_to
from service.namespaces import DCTERMS, ID_BASE, OA, PROV, SCHEMA, SKOS, ZI
from service.settings import get_settings
from service.store import get_store
from service.terms import term_value
from service.urls import public_url

bp = Blueprint("citations", __name__)


def _base() -> str:
    """Return the entity IRI base this deployment answers for (as the pages do)."""
    return get_settings().base_iri or ID_BASE


QUOTE_WORDS = 40  # a citation points to its passage and quotes its start, not all of it
MEDIA_TYPES = {
    "bib": "application/x-bibtex",
    "ris": "application/x-research-info-systems",
    "json": "application/vnd.citationstyles.csl+json",
}


@dataclass(frozen=True)
class Place:
    """Where a passage is: its paragraph and its first and last sentence, counted from 1."""

    paragraph: int | None
    first: int | None
    last: int | None


def locator(place: Place, lang: str) -> str | None:
    """Return "paragraf 4, kalimat 1" (or "kalimat 1–2") in ``lang``, or None when unknown."""
    if place.paragraph is None:
        return None
    if place.first is None:
        return translate_to(lang, "cite_paragraph", paragraph=place.paragraph)
    if place.last is None or place.last == place.first:
        return translate_to(
            lang, "cite_paragraph_sentence", paragraph=place.paragraph, sentence=place.first
        )
    return translate_to(
        lang,
        "cite_paragraph_sentences",
        paragraph=place.paragraph,
        first=place.first,
        last=place.last,
    )


def passage_title(place: Place, quote: str, fallback: str, lang: str, words: int = 6) -> str:
    """Return a passage's title: where it is and the first words of its quote."""
    shown = quote.strip("“”\"' ").split()
    start = " ".join(shown[:words]) + ("…" if len(shown) > words else "")
    where = locator(place, lang)
    where = where[0].upper() + where[1:] if where else f"¶{fallback}"
    return f"{where} “{start}”"


def stated_values(quote: str, names: dict[str, list[str]], shortest: int = 3) -> set[str]:
    """Return the keys whose names the quote states, reading the longest names first.

    A stretch of the quote counts for one name only: "Wilayah Bebas dari Korupsi" inside a
    ceremony's name states the ceremony, not the designation; "2020" inside "21/12/2020" states
    the date, not a year.
    """
    text = quote.casefold()
    taken = [False] * len(text)
    pairs = sorted(
        (
            (n.casefold(), key)
            for key, ns in names.items()
            for n in ns
            if len(n) >= shortest or n.isdigit()  # a count ("3 OPD") is short but exact
        ),
        key=lambda pair: -len(pair[0]),
    )
    found = set()
    for name, key in pairs:
        start = text.find(name)
        while start >= 0:  # each occurrence, not overlapping the one before
            end = start + len(name)
            if not any(taken[start:end]) and _whole_word(text, start, end):
                taken[start:end] = [True] * (end - start)
                found.add(key)
            start = text.find(name, end)
    return found


def _whole_word(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not before.isalnum() and not after.isalnum()


def date_mentions(value: str) -> list[str]:
    """Return how a source may write an ISO date: 21/12/2020, 21 Desember 2020."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)
    if not match:
        return [value]
    year, month, day = match.groups()
    return [f"{int(day)}/{month}/{year}", format_date(value, "id")]


# --- what the data says about a work and its passages ------------------------------------


@dataclass
class CitedPassage:
    """A passage as a citation names it."""

    iri: str
    place: Place
    exact: str
    start: int


@dataclass
class Work:
    """An article as a citation names it."""

    iri: str
    publisher: str
    title: str
    headline: bool  # False: the title is a descriptive label, written in square brackets
    reported: str | None  # the date of the events the text reports (ISO)
    published: str | None  # ISO date, month or year
    published_stated: bool
    language: str


@dataclass
class Citation:
    """A citation of an article, or of passages of it (a passage's or a fact's)."""

    work: Work
    subject: str  # the IRI cited: the article, a passage or a fact
    passages: list[CitedPassage] = field(default_factory=list)

    @property
    def key(self) -> str:
        return re.sub(r"[^A-Za-z0-9_-]+", "-", self.subject[len(_base()) :]).strip("-")

    def title(self) -> str:
        return self.work.title if self.work.headline else f"[{self.work.title}]"

    def where(self, lang: str) -> str:
        places = [locator(p.place, lang) for p in self.passages]
        return "; ".join(p for p in places if p)

    def quote(self) -> str:
        if not self.passages:
            return ""
        words = self.passages[0].exact.strip('“”" ').split()
        return " ".join(words[:QUOTE_WORDS]) + ("…" if len(words) > QUOTE_WORDS else "")

    def dates(self, lang: str) -> str:
        """Return what is known of the dates, each named for what it is."""
        parts = []
        if not self.work.headline:
            parts.append(translate_to(lang, "cite_untitled"))
        if self.work.reported:
            parts.append(translate_to(lang, "cite_reports", date=reported_date(self.work, lang)))
        if self.work.published and self.work.published_stated:
            parts.append(
                translate_to(lang, "cite_published", date=format_date(self.work.published, lang))
            )
        elif self.work.published:
            parts.append(
                translate_to(
                    lang, "cite_published_inferred", date=format_date(self.work.published, lang)
                )
            )
        else:
            parts.append(translate_to(lang, "cite_published_unknown"))
        return "; ".join(parts)

    def sentence(self, lang: str) -> str:
        """Return the citation as a sentence for a news story."""
        text = f"{self.work.publisher}, {self.title()} ({self.dates(lang)})"
        if self.passages:
            where = self.where(lang)  # empty for passages whose place the data does not give
            text += f", {where}: “{self.quote()}”" if where else f": “{self.quote()}”"
        return text + "."

    def note(self, lang: str) -> str:
        note = self.dates(lang)
        if self.passages:
            where = self.where(lang)
            note += (
                f". {where[:1].upper()}{where[1:]}: “{self.quote()}”"
                if where
                else f": “{self.quote()}”"
            )
        return f"{note}. {translate_to(lang, 'cite_copy_at', url=self.url())}"

    def url(self) -> str:
        return public_url("entity.doc", path=self.subject[len(_base()) :])

    def bibtex(self, lang: str) -> str:
        """Return a BibTeX @article entry."""
        fields = [("title", "{" + _tex(self.title()) + "}"), ("journal", _tex(self.work.publisher))]
        fields.append(("publisher", _tex(self.work.publisher)))
        year, month = _year_month(self.work.published)
        if year:
            fields.append(("year", year))
        if month:
            fields.append(("month", month))
        fields += [("language", self.work.language), ("note", _tex(self.note(lang)))]
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        return f"@article{{{self.key},\n{body}\n}}\n"

    def csl(self, lang: str) -> dict:
        """Return a CSL-JSON item."""
        item: dict = {
            "id": self.key,
            "type": "article-newspaper",
            "title": self.title(),
            "container-title": self.work.publisher,
            "publisher": self.work.publisher,
            "language": self.work.language,
            "note": self.note(lang),
        }
        year, month = _year_month(self.work.published)
        if year:
            issued: dict = {"date-parts": [[int(year), *([_month_number(month)] if month else [])]]}
            if not self.work.published_stated:
                issued["circa"] = True
            item["issued"] = issued
        if self.passages:
            item["locator"] = self.where(lang)
        return item

    def csl_json(self, lang: str) -> str:
        return json.dumps([self.csl(lang)], ensure_ascii=False, indent=2) + "\n"

    def ris(self, lang: str) -> str:
        """Return a RIS record."""
        lines = [("TY", "NEWS"), ("TI", self.title()), ("T2", self.work.publisher)]
        lines.append(("PB", self.work.publisher))
        year, month = _year_month(self.work.published)
        if year:
            lines.append(("PY", year))
            lines.append(("DA", f"{year}/{_month_number(month):02d}//" if month else f"{year}///"))
        lines += [("LA", self.work.language), ("N1", self.note(lang)), ("ER", "")]
        return "".join(f"{tag}  - {value}".rstrip() + "\r\n" for tag, value in lines)


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _year_month(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    parts = value.split("-")
    month = MONTHS[int(parts[1]) - 1] if len(parts) > 1 else None
    return parts[0], month


def _month_number(month: str | None) -> int:
    return MONTHS.index(month) + 1 if month else 0


def _tex(text: str) -> str:
    return re.sub(r"([{}%&#_$\\])", r"\\\1", text)


def reported_date(work: Work, lang: str) -> str:
    """Return the reported date with its weekday, as the source has it: Senin, 21 Desember 2020."""
    if not work.reported or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", work.reported):
        return format_date(work.reported or "", lang)
    day = datetime.date.fromisoformat(work.reported)
    return babel_format_date(day, "EEEE, d MMMM y", locale=lang)


def _first(rows: list[dict], name: str, lang: str | None = None) -> str | None:
    values = [row[name] for row in rows if name in row]
    if lang is not None:
        for value in values:
            if isinstance(value, ox.Literal) and value.language == lang:
                return value.value
    return term_value(values[0]) if values else None


def citation_query(iri: str) -> str:
    """Return the query of the article and passage ``citation_for`` cites."""
    node = f"<{iri}>"
    return f"""SELECT ?article ?passage WHERE {{
  {{ {node} <{DCTERMS.hasFormat}> ?file BIND({node} AS ?article) }}
  UNION {{ {node} <{OA.hasSource}> ?article BIND({node} AS ?passage) }}
  UNION {{ {node} <{PROV.wasDerivedFrom}> ?passage . ?passage <{OA.hasSource}> ?article }}
}}"""


def citation_for(iri: str, lang: str | None = None) -> Citation | None:
    """Return the citation of an article, a passage or a fact; None for any other IRI."""
    lang = lang or get_language()
    rows = get_store().query(citation_query(iri)).dicts()
    if not rows:
        return None
    article, passages = _cited(rows)
    work = _work(article, lang)
    if work is None:
        return None
    return Citation(work, iri, sorted(_passages(passages), key=lambda p: p.start))


def _cited(rows: list[dict]) -> tuple[str, list[str]]:
    """Return the article of ``citation_query``'s rows and its passages among them."""
    article = term_value(rows[0]["article"])
    passages = {
        term_value(row["passage"])
        for row in rows
        if "passage" in row and term_value(row["article"]) == article
    }
    return article, sorted(passages)


def citation_queries(iri: str) -> list[str]:
    """Return the queries ``citation_for`` asks after ``citation_query``, to go with a page's."""
    rows = get_store().query(citation_query(iri)).dicts()
    if not rows:
        return []
    article, passages = _cited(rows)
    return [_work_query(article), *([_passages_query(passages)] if passages else [])]


def _work_query(article: str) -> str:
    return f"""SELECT * WHERE {{
  OPTIONAL {{ <{article}> <{SCHEMA.publisher}>/<{SKOS.prefLabel}> ?publisher }}
  OPTIONAL {{ <{article}> <{SCHEMA.headline}> ?headline }}
  OPTIONAL {{ <{article}> <{SKOS.prefLabel}> ?label }}
  OPTIONAL {{ <{article}> <{SCHEMA.temporalCoverage}> ?reported }}
  OPTIONAL {{ <{article}> <{SCHEMA.datePublished}> ?published }}
  OPTIONAL {{ <{article}> <{ZI.publicationDateStated}> ?stated }}
  OPTIONAL {{ <{article}> <{SCHEMA.inLanguage}> ?language }}
}}"""


def _work(article: str, lang: str) -> Work | None:
    rows = get_store().query(_work_query(article)).dicts()
    headline = _first(rows, "headline", lang)
    title = headline or _first(rows, "label", lang)
    if title is None:
        return None
    return Work(
        iri=article,
        publisher=_first(rows, "publisher", lang) or "",
        title=title,
        headline=headline is not None,
        reported=_first(rows, "reported"),
        published=_first(rows, "published"),
        published_stated=_first(rows, "stated") != "false",
        language=_first(rows, "language") or "",
    )


def _passages_query(iris: list[str]) -> str:
    values = " ".join(f"<{i}>" for i in iris)
    return f"""SELECT ?p ?exact ?start ?paragraph ?first ?last WHERE {{
  VALUES ?p {{ {values} }}
  ?p <{OA.hasSelector}>/<{OA.exact}> ?exact .
  OPTIONAL {{ ?p <{OA.hasSelector}>/<{OA.start}> ?start }}
  OPTIONAL {{ ?p <{ZI.paragraphNumber}> ?paragraph }}
  OPTIONAL {{ ?p <{ZI.firstSentence}> ?first }}
  OPTIONAL {{ ?p <{ZI.lastSentence}> ?last }}
}}"""


def _passages(iris: list[str]) -> list[CitedPassage]:
    if not iris:
        return []
    rows = get_store().query(_passages_query(iris)).dicts()

    def number(row: dict, name: str) -> int | None:
        return int(term_value(row[name])) if name in row else None

    return [
        CitedPassage(
            term_value(row["p"]),
            Place(number(row, "paragraph"), number(row, "first"), number(row, "last")),
            term_value(row["exact"]),
            number(row, "start") or 0,
        )
        for row in rows
    ]


@dataclass
class Reference:
    """What a resource of reference data is based on, and who curated it (IRIs)."""

    record: str
    bases: list[str]
    curators: list[str]


def reference_query(iri: str) -> str:
    """Return the query of ``reference_of``."""
    return f"""SELECT ?record ?basis ?own ?curator WHERE {{
  ?record a <{ZI.ReferenceData}> ; <{DCTERMS.hasPart}> <{iri}> .
  OPTIONAL {{ ?record <{DCTERMS.source}> ?basis }}
  OPTIONAL {{ <{iri}> <{DCTERMS.source}> ?own }}
  OPTIONAL {{ ?record <{PROV.wasAttributedTo}> ?curator }}
}}"""


def reference_of(iri: str) -> Reference | None:
    """Return the basis and curators of a resource of reference data, or None for any other.

    A resource's own dct:source is its basis; without one, its file's record's sources are.
    """
    rows = get_store().query(reference_query(iri)).dicts()
    if not rows:
        return None
    own = sorted({term_value(r["own"]) for r in rows if "own" in r})
    record_bases = sorted({term_value(r["basis"]) for r in rows if "basis" in r})
    return Reference(
        term_value(rows[0]["record"]),
        own or record_bases,
        sorted({term_value(r["curator"]) for r in rows if "curator" in r}),
    )


# --- downloads ----------------------------------------------------------------------------


@bp.route("/cite/<path:path>.<any(bib, ris, json):suffix>")
def download(path: str, suffix: str) -> Response:
    """Answer a citation as BibTeX (.bib), RIS (.ris) or CSL-JSON (.json)."""
    lang = request.args.get("lang")
    lang = lang if lang in LANGUAGES else get_language()
    citation = citation_for(_base() + path, lang)
    if citation is None:
        abort(404)
    body = {"bib": citation.bibtex, "ris": citation.ris, "json": citation.csl_json}[suffix](lang)
    response = Response(body, content_type=f"{MEDIA_TYPES[suffix]}; charset=utf-8")
    filename = f"{citation.key}.{suffix}"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
