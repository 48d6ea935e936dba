"""Scaffold a new source document: its text file and an article file ready for passages."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from service import dataset
from service.namespaces import ID_BASE, SOURCE_BASE

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")

ARTICLE_TEMPLATE = """\
# Facts of one source document, each node pointing to the passages that state it.
# Source text: {text_rel}
# Write each passage with its quote only (oa:exact, verbatim, typos included), then run
#   zigraph anchor {article_rel}
# which adds the quote's prefix and suffix and its offsets (Unicode code points) in the text.

@prefix zi: <https://w3id.org/zigraph/ontology#> .
@prefix article: <{id_base}article/> .
@prefix organisation: <{id_base}organisation/> .
@prefix psg: <{id_base}passage/{slug}/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix schema: <https://schema.org/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix oa: <http://www.w3.org/ns/oa#> .

# ---------------------------------------------------------------------------------------------
# The source document

article:{slug} a schema:NewsArticle ;{label_note}
    skos:prefLabel {title} ;
    schema:publisher organisation:{publisher_slug} ;
    schema:inLanguage "{language}" ;
    schema:datePublished {date} ;
    dct:hasFormat <{source_base}{slug}.txt> .

<{source_base}{slug}.txt> dct:format "text/plain; charset=utf-8" .
{publisher_block}
# ---------------------------------------------------------------------------------------------
# Facts: every fact node says which passages state it, e.g.
#
#   conferral:wbk-2021-... a zi:DesignationConferral ;
#       ...
#       prov:wasDerivedFrom psg:01 .

# ---------------------------------------------------------------------------------------------
# Passages: copy this block for each passage, numbered 01, 02, ...
#
#   psg:01 a zi:Passage ;
#       oa:hasSource article:{slug} ;
#       oa:hasSelector psg:01\\/quote .
#
#   psg:01\\/quote a oa:TextQuoteSelector ;
#       oa:exact "the words of the source, as they stand" .
"""


def slugify(name: str) -> str:
    """Return a lower-case slug of a name: ``Kompas.com`` becomes ``kompas-com``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def turtle_string(value: str) -> str:
    """Return a Turtle string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def date_literal(date: str) -> str:
    """Return a publication date as a typed literal: 2021-12-10, 2021-12 or 2021."""
    for pattern, datatype in (
        (r"\d{4}-\d{2}-\d{2}", "date"),
        (r"\d{4}-\d{2}", "gYearMonth"),
        (r"\d{4}", "gYear"),
    ):
        if re.fullmatch(pattern, date):
            return f'"{date}"^^xsd:{datatype}'
    raise ValueError(f"the date {date!r} is not YYYY-MM-DD, YYYY-MM or YYYY")


def known_publishers(folder: Path) -> set[str]:
    """Return the IRIs of the organisations written in the folder's RDF and the shipped data."""
    found: set[str] = set()
    for root in (folder, dataset.resources.folder("graph_data")):
        if not root.is_dir():
            continue
        for path in dataset.rdf_files(root):
            if path.suffix == ".ttl":
                found.update(
                    ID_BASE + "organisation/" + match
                    for match in re.findall(r"organisation/([a-z0-9-]+)>", path.read_text())
                )
    return found


def new_source(
    folder: Path,
    slug: str,
    title: str,
    publisher: str,
    date: str,
    language: str = "id",
    text: Path | None = None,
) -> tuple[Path, Path]:
    """Write ``articles/SLUG.ttl`` and ``sources/SLUG.txt`` under ``folder``; return both.

    The article file holds the article node (title, publisher, date, language, text file)
    and a passage template; a publisher the data does not name yet gets its own node.
    Existing files are never overwritten.
    """
    if not SLUG.match(slug):
        raise ValueError(f"the name {slug!r} must be lower-case letters, digits and dashes")
    article_path = folder / "articles" / f"{slug}.ttl"
    text_path = folder / dataset.SOURCE_TEXTS / f"{slug}.txt"
    for path in (article_path, text_path):
        if path.exists():
            raise FileExistsError(f"{path} exists already")
    publisher_slug = slugify(publisher)
    publisher_block = ""
    if ID_BASE + "organisation/" + publisher_slug not in known_publishers(folder):
        publisher_block = (
            f"\norganisation:{publisher_slug} a schema:NewsMediaOrganization ;\n"
            f"    skos:prefLabel {turtle_string(publisher)}@{language} .\n"
        )
    article_path.parent.mkdir(parents=True, exist_ok=True)
    text_path.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        shutil.copyfile(text, text_path)
    else:
        text_path.write_text("", encoding="utf-8")
    article_path.write_text(
        ARTICLE_TEMPLATE.format(
            slug=slug,
            title=f"{turtle_string(title)}@{language}",
            label_note=""
            if language == "id"
            else "\n    # The shapes ask every node for an Indonesian label: add one (@id).",
            publisher_slug=publisher_slug,
            publisher_block=publisher_block,
            language=language,
            date=date_literal(date),
            id_base=ID_BASE,
            source_base=SOURCE_BASE,
            text_rel=f"{dataset.SOURCE_TEXTS}/{slug}.txt",
            article_rel=article_path,
        ),
        encoding="utf-8",
    )
    return article_path, text_path
