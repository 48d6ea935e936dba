"""Interface strings come from Flask-Babel message catalogues, one per language."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from service.i18n import LANGUAGES, TRANSLATIONS, format_date, translate

SERVICE = Path(__file__).resolve().parent.parent / "service"
# Keys named in code and templates: t('key'), translate("key"), translate_to(lang, "key"), ...
USED_KEY = re.compile(
    r"""(?:(?:\bt|translate|\bword|_sentence|_optional)\(|translate_to\(\s*\w+,)"""
    r"""\s*['"]([a-z][a-z0-9_]*)['"]"""
)


def catalogue(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po)


def key_and_text(message) -> tuple[str, object]:
    key = message.id[0] if isinstance(message.id, list | tuple) else message.id
    text = tuple(message.string) if isinstance(message.string, list | tuple) else message.string
    return key, text


def test_the_pages_offer_every_language_with_a_catalogue():
    assert LANGUAGES[0] == "id" and "en" in LANGUAGES


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_of_a_catalogue_is_translated(lang):
    messages = dict(key_and_text(m) for m in catalogue(lang) if m.id)
    empty = [k for k, text in messages.items() if not text or "" in tuple(text)]
    assert not empty
    assert set(messages) == {key_and_text(m)[0] for m in catalogue("id") if m.id}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalogue_matches_its_source(lang):
    # `make translations` compiles the .po files; a stale .mo would show old texts.
    source = dict(key_and_text(m) for m in catalogue(lang) if m.id)
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo", "rb") as mo:
        compiled = dict(key_and_text(m) for m in read_mo(io.BytesIO(mo.read())) if m.id)
    assert compiled == source


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_the_code_uses_is_translated(lang):
    used = set()
    for path in [*SERVICE.rglob("*.py"), *SERVICE.rglob("*.html")]:
        used |= set(USED_KEY.findall(path.read_text(encoding="utf-8")))
    known = {key_and_text(m)[0] for m in catalogue(lang) if m.id}
    assert used and used <= known, sorted(used - known)


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [("en", 1, "1 row"), ("en", 2, "2 rows"), ("en", 0, "0 rows"), ("id", 1, "1 baris")],
)
def test_counted_strings_read_right(app, lang, n, expected):
    with app.test_request_context(f"/?lang={lang}"):
        assert translate("query_rows", n=n) == expected


def test_dates_are_written_as_readers_write_them(app):
    with app.test_request_context("/"):
        assert format_date("2020-12-21", "id") == "21 Desember 2020"
        assert format_date("2020-12-21", "en") == "21 December 2020"
        assert format_date("2020-12", "en") == "December 2020"
        assert format_date("not a date", "en") == "not a date"


def test_a_property_without_a_declared_inverse_reads_in_the_readers_language(app):
    from service.pages.labels import Labels

    undeclared = "http://example.org/undeclared#holds"
    with app.test_request_context("/"):
        labels = Labels()
        assert labels.of_inverse(undeclared, "en") == labels.of_property(undeclared) + " of"
        assert labels.of_inverse(undeclared, "id") == labels.of_property(undeclared) + " dari"
