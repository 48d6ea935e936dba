"""The ``zigraph`` command line: validate, export and describe the dataset."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click
import pyoxigraph as ox

from service import dataset, export, validation
from service.export import RDF_TYPE
from service.namespaces import compact
from service.serve import dataset_options, files_or_exit, load_or_exit, push, serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    files = files_or_exit((*paths, *data_paths), ontology_paths, shapes_paths)
    try:
        report = validation.validate_files(files)
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
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@dataset_options
def export_command(
    format_name: str, output: Path | None, data_paths, ontology_paths, shapes_paths
) -> None:
    """Write the whole dataset, byte for byte the same on every run."""
    loaded = load_or_exit(files_or_exit(data_paths, ontology_paths, shapes_paths))
    data = export.serialize_dataset(loaded.quads, export.FORMATS[format_name])
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
        click.echo(f"{output}: {len(loaded.quads)} quads, {len(data)} bytes", err=True)


def dataset_statistics(loaded: dataset.LoadedDataset) -> dict:
    """Return the triple count, entities per class and triples per named graph."""
    triples = {q.triple for q in loaded.quads}
    typed: dict[str, set[str]] = {}
    for triple in triples:
        if triple.predicate.value == RDF_TYPE and isinstance(triple.object, ox.NamedNode):
            typed.setdefault(triple.object.value, set()).add(str(triple.subject))
    graphs = Counter(q.graph_name.value for q in loaded.quads)
    return {
        "version": loaded.version,
        "triples": len(triples),
        "quads": len(loaded.quads),
        "entities": len({s for members in typed.values() for s in members}),
        "classes": {iri: len(members) for iri, members in sorted(typed.items())},
        "graphs": {f.graph: graphs.get(f.graph, 0) for f in loaded.files},
    }


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")
@dataset_options
def stats(as_json: bool, data_paths, ontology_paths, shapes_paths) -> None:
    """Print the number of triples, entities per class and named graphs."""
    import json

    loaded = load_or_exit(files_or_exit(data_paths, ontology_paths, shapes_paths))
    numbers = dataset_statistics(loaded)
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


cli.add_command(serve)
cli.add_command(push)


def main() -> None:
    """Run the command line."""
    cli()
