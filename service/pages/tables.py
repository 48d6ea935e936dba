"""The pages' tables as CSV, one click from the table: a spreadsheet with a source column.

Each row's source is the passage or document the data derives it from (``prov:wasDerivedFrom``),
so a row can be checked against the text that states it. A file holds at most
``ZIGRAPH_RESULT_LIMIT`` rows, like an answer of the endpoint, and says when it was cut.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

import pyoxigraph as ox
from flask import Blueprint, Response, request

from service import statistics
from service.i18n import get_language
from service.namespaces import PROV, ZI
from service.pages.common import not_found
from service.pages.labels import Labels, sparql_iri
from service.security import TRUNCATED_HEADER
from service.settings import get_settings
from service.store import get_store
from service.terms import term_value

bp = Blueprint("tables", __name__)

SOURCE_SEPARATOR = " "  # between the sources of a row stated in more than one passage
CONFERRAL_COLUMNS = (
    "conferral",
    "recipient",
    "designation",
    "assessment_year",
    "conferral_date",
    "conferred_by",
)


def _sources(variable: str) -> str:
    return (
        f"OPTIONAL {{ {variable} <{PROV.wasDerivedFrom}> ?source }}"
        f" BIND(STR(?source) AS ?sourceText)"
    )


def csv_response(header: Sequence[str], rows: Iterable[Sequence[str]], name: str, cut: bool):
    """Return the rows as a CSV file to download, named ``name``, saying whether it was cut."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header)
    writer.writerows(rows)
    response = Response(text.getvalue(), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    if cut:
        response.headers[TRUNCATED_HEADER] = "true"
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


def _sorted_sources(joined: str) -> str:
    """Return the sources GROUP_CONCAT joined (in no set order) in the order of their IRIs."""
    return SOURCE_SEPARATOR.join(sorted(joined.split()))


def _labelled(iri: str, labels: Labels) -> str:
    return labels(iri) if iri else ""


@bp.route("/browse/class.csv")
def class_table():
    """Answer the members of one class (``?iri=``) as CSV: IRI, label, source."""
    iri = request.args.get("iri", "")
    try:
        node = sparql_iri(iri)
    except ValueError:
        return not_found(iri or "?iri=")
    limit = get_settings().result_limit
    rows = (
        get_store()
        .query(
            f"""SELECT ?s (GROUP_CONCAT(DISTINCT ?sourceText; separator="{SOURCE_SEPARATOR}")
  AS ?sources) WHERE {{
  {{ {statistics.members_of(node)} ORDER BY ?s
     LIMIT {limit + 1} }}
  {_sources("?s")}
}} GROUP BY ?s ORDER BY ?s"""
        )
        .rows
    )
    members = [
        (term_value(row[0]), _sorted_sources(term_value(row[1])) if row[1] else "") for row in rows
    ]
    labels = Labels().fetch([iri, *(m for m, _ in members)])
    name = _file_name(labels(iri, "en"))
    return csv_response(
        ("iri", f"label_{get_language()}", "source"),
        ((member, labels(member), sources) for member, sources in members[:limit]),
        f"{name}.csv",
        len(members) > limit,
    )


@bp.route("/conferrals.csv")
def conferrals_table():
    """Answer every designation conferral as CSV, as the home page's table, with its source."""
    limit = get_settings().result_limit
    rows = (
        get_store()
        .query(
            f"""SELECT ?c (SAMPLE(?recipient) AS ?r) (SAMPLE(?designation) AS ?d)
  (SAMPLE(?year) AS ?y) (SAMPLE(?date) AS ?t) (SAMPLE(?by) AS ?b)
  (GROUP_CONCAT(DISTINCT ?sourceText; separator="{SOURCE_SEPARATOR}") AS ?sources) WHERE {{
  {{ SELECT DISTINCT ?c WHERE {{ ?c a <{ZI.DesignationConferral}> }} ORDER BY ?c
     LIMIT {limit + 1} }}
  OPTIONAL {{ ?c <{ZI.recipient}> ?recipient }}
  OPTIONAL {{ ?c <{ZI.designation}> ?designation }}
  OPTIONAL {{ ?c <{ZI.assessmentYear}> ?year }}
  OPTIONAL {{ ?c <{ZI.conferralDate}> ?date }}
  OPTIONAL {{ ?c <{ZI.conferredBy}> ?by }}
  {_sources("?c")}
}} GROUP BY ?c ORDER BY ?c"""
        )
        .rows
    )
    values = [[term_value(t) if t is not None else "" for t in row] for row in rows]
    labels = Labels().fetch(
        v for row in rows for v in (term_value(t) for t in row[:6] if isinstance(t, ox.NamedNode))
    )
    header: list[str] = []
    for column in CONFERRAL_COLUMNS:
        header.append(column)
        if column in ("conferral", "recipient", "designation", "conferred_by"):
            header.append(f"{column}_label_{get_language()}")
    header.append("source")

    def row_of(found: list[str]) -> list[str]:
        conferral, recipient, designation, year, date, by, sources = found
        return [
            conferral,
            _labelled(conferral, labels),
            recipient,
            _labelled(recipient, labels),
            designation,
            _labelled(designation, labels),
            year,
            date,
            by,
            _labelled(by, labels),
            _sorted_sources(sources),
        ]

    return csv_response(
        header, (row_of(v) for v in values[:limit]), "conferrals.csv", len(values) > limit
    )


def _file_name(label: str) -> str:
    """Return a label as a file name: lower case, words joined by hyphens, ASCII only."""
    words = "".join(c if c.isascii() and c.isalnum() else " " for c in label.lower()).split()
    return "-".join(words) or "class"
