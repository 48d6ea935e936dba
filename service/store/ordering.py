"""Order query solutions as SPARQL 1.1 ORDER BY does (section 15.1), by a total order.

Oxigraph's own sort compares literals by value where it can and by lexical form where it
cannot, which is no order at all (39 < 1000 < "2" < 39) and aborts its process on some inputs
(``docs/upstream/oxigraph-sort-total-order.md``). This is the order zigraph applies when the
engine fails on a query with ORDER BY: the query is evaluated without it and its solutions are
ordered here, then sliced by OFFSET and LIMIT.

Terms: unbound < blank nodes < IRIs < literals < triple terms (SPARQL 1.2). Blank nodes and
IRIs by code point of their label and IRI. Literals first by family, in this order, then
within their family:

1. numbers (every XSD numeric type) by exact value, so ``1 = 1.0 = 1E0``; NaN after them;
2. text: simple literals and ``xsd:string`` by code point, and language-tagged strings by
   text, then language tag (two strings of one language are then ordered by their text, as
   Oxigraph's ``<`` orders them);
3. booleans, false before true;
4. ``xsd:dateTime``, ``xsd:date``, ``xsd:time``, then each ``xsd:g*`` type, each a family
   of its own, by the instant it starts; a value without time zone as if in UTC, so every
   comparison XSD calls determinate (apart by more than 14 hours) agrees;
5. durations, by length, a month counting 30.436875 days (the Gregorian mean): exact between
   two year-month or two day-time durations;
6. every other datatype, and ill-formed values of the types above, by datatype IRI.

Where two literals tie (``1`` and ``1.0``), the datatype IRI, then the lexical form, the
language and the direction decide, so two terms sort equal only when they are the same term:
the order is total, and the same rows always come out in the same order.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from decimal import Decimal

import pyoxigraph as ox

from service.terms import Term

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
RDF_DIR_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#dirLangString"

Row = tuple[Term | None, ...]

INTEGER_TYPES = frozenset(
    XSD + name
    for name in (
        "integer nonPositiveInteger negativeInteger long int short byte nonNegativeInteger "
        "unsignedLong unsignedInt unsignedShort unsignedByte positiveInteger"
    ).split()
)
INTEGER = re.compile(r"[+-]?[0-9]+")
DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
FLOATING = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN")

# The calendar types in their family order, each with its lexical form: year, month, day,
# hour, minute, second where the type has them, then the time zone.
_ZONE = r"(Z|[+-][0-9]{2}:[0-9]{2})?"
_YEAR = r"(-?[0-9]{4,})"
_CLOCK = r"([0-9]{2}):([0-9]{2}):([0-9]{2}(?:\.[0-9]+)?)"
CALENDAR = {
    XSD + "dateTime": re.compile(_YEAR + r"-([0-9]{2})-([0-9]{2})T" + _CLOCK + _ZONE),
    XSD + "dateTimeStamp": re.compile(_YEAR + r"-([0-9]{2})-([0-9]{2})T" + _CLOCK + _ZONE),
    XSD + "date": re.compile(_YEAR + r"-([0-9]{2})-([0-9]{2})" + _ZONE),
    XSD + "time": re.compile(_CLOCK + _ZONE),
    XSD + "gYearMonth": re.compile(_YEAR + r"-([0-9]{2})" + _ZONE),
    XSD + "gYear": re.compile(_YEAR + _ZONE),
    XSD + "gMonthDay": re.compile(r"--([0-9]{2})-([0-9]{2})" + _ZONE),
    XSD + "gDay": re.compile(r"---([0-9]{2})" + _ZONE),
    XSD + "gMonth": re.compile(r"--([0-9]{2})" + _ZONE),
}
# Which fields each type's groups give, in order (the zone always last).
CALENDAR_FIELDS = {
    "dateTime": "ymdHMS",
    "dateTimeStamp": "ymdHMS",
    "date": "ymd",
    "time": "HMS",
    "gYearMonth": "ym",
    "gYear": "y",
    "gMonthDay": "md",
    "gDay": "d",
    "gMonth": "m",
}
DURATION_TYPES = frozenset(XSD + t for t in ("duration", "yearMonthDuration", "dayTimeDuration"))
DURATION = re.compile(
    r"(-)?P(?:([0-9]+)Y)?(?:([0-9]+)M)?(?:([0-9]+)D)?"
    r"(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+(?:\.[0-9]+)?)S)?)?"
)
MEAN_MONTH_SECONDS = Decimal("30.436875") * 86400

# Family ranks of literals.
NUMBER, TEXT, BOOLEAN, CALENDAR_FIRST = 0, 1, 2, 3
DURATION_RANK = CALENDAR_FIRST + len(CALENDAR)
OTHER = DURATION_RANK + 1


def order_rows(
    rows: Sequence[Row], variables: Sequence[str], keys: Sequence[tuple[str, bool]]
) -> list[Row]:
    """Return the rows ordered by ``keys``: (variable name, descending) pairs, first key first.

    :raises KeyError: when a key names a variable the rows do not have.
    """
    columns = {name: index for index, name in enumerate(variables)}
    ordered = list(rows)
    # Python's sort is stable: sorting by the last key first leaves the first key in charge.
    for name, descending in reversed(keys):
        if name not in columns:
            raise KeyError(f"ORDER BY ?{name}: the solutions have no such variable")
        column = columns[name]
        ordered.sort(key=lambda row: term_key(row[column]), reverse=descending)
    return ordered


def term_key(term: Term | None) -> tuple:
    """Return the sort key of a term (None: unbound) in the order this module describes."""
    if term is None:
        return (0,)
    if isinstance(term, ox.BlankNode):
        return (1, term.value)
    if isinstance(term, ox.NamedNode):
        return (2, term.value)
    if isinstance(term, ox.Triple):
        return (4, term_key(term.subject), term_key(term.predicate), term_key(term.object))
    datatype = term.datatype.value
    tie = (datatype, term.value, term.language or "", str(term.direction or ""))
    return (3, *literal_value_key(term.value, datatype, term.language), *tie)


def literal_value_key(lexical: str, datatype: str, language: str | None) -> tuple:
    """Return a literal's family rank and its place in its family, (OTHER,) when none."""
    if datatype in (XSD + "string", RDF_LANG_STRING, RDF_DIR_LANG_STRING):
        return (TEXT, lexical, language or "")
    number = numeric_value(lexical, datatype)
    if number is not None:
        return (NUMBER, True, 0) if number != number else (NUMBER, False, number)  # NaN
    if datatype == XSD + "boolean" and lexical in ("true", "false", "1", "0"):
        return (BOOLEAN, lexical in ("true", "1"))
    if datatype in CALENDAR:
        seconds = calendar_seconds(lexical, datatype)
        if seconds is not None:
            return (CALENDAR_FIRST + list(CALENDAR).index(datatype), seconds)
    if datatype in DURATION_TYPES:
        seconds = duration_seconds(lexical)
        if seconds is not None:
            return (DURATION_RANK, seconds)
    return (OTHER,)


def numeric_value(lexical: str, datatype: str) -> int | Decimal | float | None:
    """Return the value of a well-formed XSD number, None for anything else."""
    if datatype in INTEGER_TYPES:
        return int(lexical) if INTEGER.fullmatch(lexical) else None
    if datatype == XSD + "decimal":
        return Decimal(lexical) if DECIMAL.fullmatch(lexical) else None
    if datatype not in (XSD + "double", XSD + "float") or not FLOATING.fullmatch(lexical):
        return None
    value = float(lexical)
    if datatype == XSD + "float" and value == value:
        try:  # an xsd:float holds single precision: 0.1f is above 0.1
            value = struct.unpack("f", struct.pack("f", value))[0]
        except OverflowError:
            value = float("inf") if value > 0 else float("-inf")
    return value


def calendar_seconds(lexical: str, datatype: str) -> Decimal | None:
    """Return seconds from a fixed epoch to where a calendar value starts, None if ill-formed.

    Values without a year or a date take them from 1972-12-31 (XSD's reference; 1972 is a
    leap year, so --02-29 exists); without a time zone, UTC.
    """
    match = CALENDAR[datatype].fullmatch(lexical)
    if match is None:
        return None
    groups = match.groups()
    fields = dict(zip(CALENDAR_FIELDS[datatype.removeprefix(XSD)], groups, strict=False))
    zone = groups[-1]
    # A type's first missing field starts its period: gYear 2020 is 2020-01-01.
    year = int(fields.get("y", "1972"))
    month = int(fields.get("m", "1" if "y" in fields else "12"))
    day = int(fields.get("d", "1" if "y" in fields or "m" in fields else "31"))
    hour, minute = int(fields.get("H", "0")), int(fields.get("M", "0"))
    second = Decimal(fields.get("S", "0"))
    if not (1 <= month <= 12 and 1 <= day <= days_in_month(year, month)):
        return None
    if hour == 24 and (minute or second):
        return None
    if hour > 24 or minute > 59 or second >= 60:
        return None
    offset = 0
    if zone and zone != "Z":
        zone_hours, zone_minutes = int(zone[1:3]), int(zone[4:6])
        if zone_minutes > 59 or zone_hours * 60 + zone_minutes > 14 * 60:
            return None
        offset = (zone_hours * 60 + zone_minutes) * (-60 if zone[0] == "-" else 60)
    days = days_from_civil(year, month, day)
    return days * 86400 + hour * 3600 + minute * 60 + second - offset


def days_in_month(year: int, month: int) -> int:
    """Return the days of a month of the proleptic Gregorian calendar."""
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def days_from_civil(year: int, month: int, day: int) -> int:
    """Return the days from 1970-01-01 to a date of the proleptic Gregorian calendar."""
    # H. Hinnant's algorithm: exact for any year, negative ones included.
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def duration_seconds(lexical: str) -> Decimal | None:
    """Return a duration's length in seconds (a month as the Gregorian mean), None if ill-formed."""
    match = DURATION.fullmatch(lexical)
    if match is None or lexical.endswith(("P", "T")):
        return None
    sign, years, months, days, hours, minutes, seconds = match.groups()
    total = (int(years or 0) * 12 + int(months or 0)) * MEAN_MONTH_SECONDS
    total += int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60
    total += Decimal(seconds or 0)
    return -total if sign else total
