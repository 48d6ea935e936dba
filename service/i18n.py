"""The reader's language and the interface strings in it, from Flask-Babel message catalogues.

Each language is a catalogue: ``service/translations/{lang}/LC_MESSAGES/messages.po``, compiled
to ``messages.mo`` beside it (``make translations``). Message ids are keys (``nav_home``);
strings that count something have a plural form (``{n} row`` / ``{n} rows``). Placeholders
use ``str.format`` names.
"""

from __future__ import annotations

import datetime
import functools
from pathlib import Path

from babel import Locale, support
from babel.dates import format_date as babel_format_date
from flask import Flask, Response, g, has_request_context, request
from flask_babel import Babel, get_translations

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DEFAULT_LANGUAGE = "id"
# Every catalogue is a language the pages offer; Indonesian first, the default.
LANGUAGES = tuple(
    sorted(
        (p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES" / "messages.mo").is_file()),
        key=lambda name: (name != DEFAULT_LANGUAGE, name),
    )
)
COOKIE = "zigraph_lang"


def format_date(value: str, lang: str | None = None) -> str:
    """Return an ISO date (2020-12-21, 2020-12, 2020) as a reader writes it: 21 Desember 2020."""
    parts = value.split("T")[0].split("-")
    try:
        numbers = [int(p) for p in parts]
        date = datetime.date(numbers[0], *(numbers[1:] + [1, 1])[:2])
    except (ValueError, TypeError):
        return value
    if len(parts[0]) != 4 or not 1 <= len(parts) <= 3:
        return value
    pattern = {1: "y", 2: "MMMM y", 3: "d MMMM y"}[len(parts)]
    return babel_format_date(date, pattern, locale=lang or get_language())


def get_language() -> str:
    """Return the reader's language: ``?lang=``, then the cookie, then Accept-Language."""
    known = g.get("zigraph_lang")
    if known is not None:
        return known
    chosen = request.args.get("lang", "")
    if chosen not in LANGUAGES:
        chosen = request.cookies.get(COOKIE, "")
    if chosen not in LANGUAGES:
        chosen = request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
    g.zigraph_lang = chosen
    return chosen


def language_name(lang: str) -> str:
    """Return a language's name in that language: English, Indonesia."""
    name = Locale.parse(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]


def has_message(key: str) -> bool:
    """Return whether the reader's catalogue holds the message ``key``."""
    return reader_catalogue().gettext(key) != key


def http_message(status: int) -> str | None:
    """Return what an HTTP error status means in the reader's language, if we say it."""
    key = f"http_{status}"
    return translate(key) if has_message(key) else None


def error_message(code: str) -> str | None:
    """Return what a domain error (``query-timeout``) means in the reader's language, or None."""
    key = "error_" + code.replace("-", "_")
    return translate(key) if has_message(key) else None


def severity(name: str) -> str:
    """Return a SHACL severity (Violation, Warning, Info) in the reader's language."""
    key = f"severity_{name}"
    return translate(key) if has_message(key) else name


def translate(key: str, **values: object) -> str:
    """Return the interface string ``key`` in the reader's language, filled with ``values``.

    A message with a plural form takes the form for the number ``n``.
    """
    return _filled(reader_catalogue(), key, values)


def reader_catalogue() -> support.NullTranslations:
    """Return the catalogue of the reader's language (Flask-Babel's, outside a request).

    The same catalogue Flask-Babel would give, without its lookups of the request context on
    each string: a page says about fifty strings, and that lookup was a tenth of its work.
    """
    if has_request_context():
        return catalogue(get_language())
    return get_translations()


def translate_to(lang: str, key: str, **values: object) -> str:
    """Return the interface string ``key`` in ``lang`` (else Indonesian), outside any request."""
    return _filled(catalogue(lang if lang in LANGUAGES else DEFAULT_LANGUAGE), key, values)


@functools.cache
def catalogue(lang: str) -> support.NullTranslations:
    """Return the compiled catalogue of ``lang``, for text written outside a web request."""
    return support.Translations.load(str(TRANSLATIONS), [lang], "messages")


def _filled(translations: support.NullTranslations, key: str, values: dict) -> str:
    text = key
    if "n" in values:
        text = translations.ngettext(key, key + ":plural", int(str(values["n"])))
    if text in (key, key + ":plural"):
        text = translations.gettext(key)
    return text.format(**values) if values else text


def _remember_language(response: Response) -> Response:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax")
    if response.mimetype == "text/html":
        response.vary.update(("Accept-Language", "Cookie"))
    return response


def init_app(app: Flask) -> None:
    """Offer ``t()`` and ``lang`` to templates and remember a chosen language in a cookie."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    Babel(app, locale_selector=get_language)
    app.jinja_env.globals.update(
        t=translate,
        get_language=get_language,
        severity=severity,
        languages=LANGUAGES,
        language_name=language_name,
    )
    app.after_request(_remember_language)
