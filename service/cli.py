"""The ``zigraph`` command line: serve, push, validate, export, stats, anchor, new-source.

Each command is a click command; ``zigraph COMMAND --help`` says what it takes.

This module is light on purpose: every query evaluator imports the program's main module
(multiprocessing does, for each process it starts), and under ``zigraph`` that is this one.
The commands that need the SHACL validator, the HTTP client or gunicorn import them when they
run, and ``serve`` and ``push`` are loaded by name when asked for (``LazyGroup``, click's
documented pattern): importing them here gave each evaluator pyshacl, requests and gunicorn,
about 0.15 s of CPU and 22 MiB (PSS) more, ten times over at the service's start.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Generator
from pathlib import Path
from typing import NoReturn

import click
import pyoxigraph as ox

from service import dataset, export, passages, scaffold
from service.cli_options import dataset_options, files_or_exit, settings_or_exit
from service.namespaces import compact

# Commands defined in modules of their own, loaded when used: name -> "module:attribute".
LAZY_COMMANDS = {"serve": "service.serve:serve", "push": "service.push:push"}


class LazyGroup(click.Group):
    """A group whose ``LAZY_COMMANDS`` are imported only when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, attribute = LAZY_COMMANDS[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zigraph")
def cli() -> None:
    """zigraph: the Zona Integritas knowledge graph (WBK/WBBM)."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@dataset_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "ttl"]),
    default="text",
    show_default=True,
    help="Report format: text for people, json or ttl (the SHACL report graph) for programs.",
)
@click.option(
    "--lang", type=click.Choice(["id", "en"]), default="id", show_default=True, help="Language."
)
def validate(paths, data_paths, ontology_paths, shapes_paths, output_format, lang) -> None:
    """Validate data against the SHACL shapes.

    PATHS (or --data) are data files or folders (default: the shipped graph_data). Exit
    status: 0 when the data conforms, 1 on violations, 2 when a file cannot be read or parsed.
    """
    from service import validation

    files = files_or_exit((*paths, *data_paths), ontology_paths, shapes_paths)
    try:
        report = validation.validate(files)
    except dataset.DatasetError as error:
        click.echo(f"zigraph: cannot read {error}", err=True)
        sys.exit(2)
    if output_format == "json":
        click.echo(report.json(lang), nl=False)
    elif output_format == "ttl":
        click.echo(report.turtle(), nl=False)
    else:
        click.echo(report.text(lang), nl=False)
    sys.exit(0 if report.conforms else 1)


@cli.command("export")
@click.option(
    "--format",
    "format_name",
    type=click.Choice(list(export.FORMATS)),
    default="ttl",
    show_default=True,
    help="RDF format; ttl, nt and xml hold the union of the named graphs.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write to this file ('-': standard output, the default).",
)
@dataset_options
def export_command(
    format_name: str, output: Path | None, data_paths, ontology_paths, shapes_paths
) -> None:
    """Write the whole dataset, byte for byte the same on every run.

    Blank nodes are named by RDFC-1.0 and statements sorted. Memory stays bounded: the
    statements are sorted on disk, in runs of ZIGRAPH_EXPORT_RUN_LINES lines (default
    200000) in the temporary folder (TMPDIR), and every format is written as a stream. The
    exception: the quads that hold blank nodes are all held in memory, since RDFC-1.0 names
    them together (they are few in curated data). A file given with -o is replaced only once
    it is written whole; a progress bar shows on a terminal.
    """
    files = files_or_exit(data_paths, ontology_paths, shapes_paths)
    fmt = export.FORMATS[format_name]
    if output is None or str(output) == "-":
        _export_or_exit(files, fmt, sys.stdout.buffer, "standard output")
        sys.stdout.buffer.flush()
        return
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("wb") as target:
            count = _export_or_exit(files, fmt, target, str(output))
        partial.replace(output)
    except OSError as error:
        _cannot_write(error, str(output))
    finally:
        partial.unlink(missing_ok=True)
    what = "quads" if fmt.holds_graphs else "triples"
    click.echo(f"{output}: {count} {what}, {output.stat().st_size} bytes", err=True)


def _export_or_exit(
    files: list[dataset.SourceFile], fmt: export.RdfSerialization, target, name: str
) -> int:
    """Write the files' dataset to ``target``; or name the bad file and line, and exit 2."""

    def read() -> Generator[ox.Quad]:
        # The bar's line ends when the reading does: the writing has a bar of its own.
        with dataset.progress_bar(dataset.total_size(files), "reading") as reading:
            yield from dataset.stream_quads(files, progress=reading)

    quads = read()
    try:
        run_lines = settings_or_exit().export_run_lines
        return export.write_dataset(quads, fmt, target, run_lines=run_lines, progress=True)
    except dataset.DatasetError as error:
        click.echo(f"zigraph: cannot read {error}", err=True)
        sys.exit(2)

    except OSError as error:
        quads.close()  # ends the reading bar's line, if it was reading
        _cannot_write(error, name)


def _cannot_write(error: OSError, name: str) -> NoReturn:
    click.echo(
        f"zigraph: cannot write {error.filename or name}: {error.strerror or error}", err=True
    )
    sys.exit(2)


def dataset_statistics(files: list[dataset.SourceFile]) -> dict:
    """Return the triple count, entities per class and triples per named graph.

    The files are streamed into a store in memory and counted there with SPARQL, so a large
    dataset is never a list of Python objects.
    """
    import hashlib

    digest = hashlib.sha256()
    store = ox.Store()
    store.bulk_extend(dataset.stream_quads(files, digest))

    def select(query: str) -> list[ox.QuerySolution]:
        answer = store.query(query)
        if not isinstance(answer, ox.QuerySolutions):
            raise TypeError(f"not a SELECT query: {query}")
        return list(answer)

    distinct = "SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"
    triples = select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {{ {distinct} }} }}")[0]["n"]
    typed = "GRAPH ?g { ?s a ?class } FILTER(isIRI(?class))"
    entities = select(f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {typed} }}")[0]["n"]
    classes = select(
        f"SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {typed} }} GROUP BY ?class"
    )
    graphs = {f.graph: 0 for f in files}
    for row in select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"):
        graphs[row["g"].value] = int(row["n"].value)
    return {
        "version": digest.hexdigest()[:16],
        "triples": int(triples.value),
        "quads": len(store),
        "entities": int(entities.value),
        "classes": {
            row["class"].value: int(row["n"].value)
            for row in sorted(classes, key=lambda row: row["class"].value)
        },  # fmt: skip
        "graphs": graphs,
    }


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")
@dataset_options
def stats(as_json: bool, data_paths, ontology_paths, shapes_paths) -> None:
    """Print the number of triples, entities per class and named graphs."""
    import json

    files = files_or_exit(data_paths, ontology_paths, shapes_paths)
    try:
        numbers = dataset_statistics(files)
    except dataset.DatasetError as error:
        click.echo(f"zigraph: cannot read {error}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(numbers, indent=2))
        return
    click.echo(f"dataset version  {numbers['version']}")
    click.echo(f"triples          {numbers['triples']} (quads: {numbers['quads']})")
    click.echo(f"typed entities   {numbers['entities']}")
    click.echo("\nentities per class:")
    width = max((len(compact(c)) for c in numbers["classes"]), default=0)
    for iri, count in sorted(numbers["classes"].items(), key=lambda item: (-item[1], item[0])):
        click.echo(f"  {compact(iri):<{width}}  {count:>6}")
    click.echo(f"\nnamed graphs ({len(numbers['graphs'])}):")
    for graph, count in numbers["graphs"].items():
        click.echo(f"  {graph}  {count} triples")


@cli.command()
@click.argument("article", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--source",
    "source_text",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The source text (default: the text file the passage's source document names, "
    "in a sources/ folder beside the article's folder).",
)
@click.option(
    "-o",
    "--output",
    help="Write to this file, or '-' for standard output (default: change ARTICLE in place).",
)
def anchor(article: Path, source_text: Path | None, output: str | None) -> None:
    """Add the prefix, suffix and offsets of every passage that gives only its quote.

    ARTICLE is a Turtle file; each passage's oa:exact is looked up in the source text. The
    file is edited where the passages are written: prefixes, comments and order stay. A
    quote missing from the text, or there more than once without a prefix or suffix to
    tell them apart, is an error (exit 1) naming the passage and the nearest match.
    """
    turtle = article.read_text(encoding="utf-8")
    texts: dict[Path, str] = {}

    def text_for(passage: passages.Passage) -> str:
        if source_text is not None:
            path = source_text
        elif passage.source_file is None:
            raise passages.AnchorError(
                f"{passage.iri}: its source document names no text file (dct:hasFormat); "
                "use --source"
            )
        else:
            path = passages.source_text_path(article, passage.source_file)
        if path not in texts:
            texts[path] = path.read_text(encoding="utf-8")
        return texts[path]

    try:
        anchored, count = passages.anchor_text(
            turtle, text_for, article.resolve().as_uri(), passages.offset_datatype()
        )
    except passages.AnchorError as error:
        click.echo(f"zigraph: {article}: {error}", err=True)
        sys.exit(1)
    if output == "-":
        click.echo(anchored, nl=False)
    elif output:
        Path(output).write_text(anchored, encoding="utf-8")
    elif anchored != turtle:
        article.write_text(anchored, encoding="utf-8")
    click.echo(f"{output or article}: {count} passages anchored", err=True)


@cli.command("new-source")
@click.argument("name")
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The data folder (laid out like graph_data/: articles/, sources/).",
)
@click.option("--title", required=True, help="A descriptive title of the source document.")
@click.option("--publisher", required=True, help="The publisher's name, e.g. Garudacitizen.")
@click.option(
    "--date", "published", required=True, help="Publication date: YYYY-MM-DD, YYYY-MM or YYYY."
)
@click.option("--language", default="id", show_default=True, help="Language of the text.")
@click.option(
    "--text",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The source text to copy in (default: an empty file to paste it into).",
)
def new_source(name, folder, title, publisher, published, language, text) -> None:
    """Scaffold a new source NAME: its text file and its article file.

    Writes FOLDER/sources/NAME.txt and FOLDER/articles/NAME.ttl, with the article node and
    a passage template, ready for `zigraph anchor` and `zigraph validate --data FOLDER`.
    """
    try:
        article, text_path = scaffold.new_source(
            folder, name, title, publisher, published, language, text
        )
    except (ValueError, FileExistsError) as error:
        click.echo(f"zigraph: {error}", err=True)
        sys.exit(2)
    click.echo(f"wrote {article} and {text_path}")


def main() -> None:
    """Run the command line."""
    cli()
