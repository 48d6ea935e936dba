"""What every command shares: the dataset options, the settings, and exiting with a reason."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from service import dataset
from service.settings import SettingError, Settings


def settings_or_exit() -> Settings:
    """Return the settings from the ``ZIGRAPH_*`` environment, or name the bad one and exit 2."""
    try:
        return Settings.from_environment()
    except SettingError as error:
        click.echo(f"zigraph: {error}", err=True)
        sys.exit(2)


def load_or_exit(files: list[dataset.SourceFile] | None = None) -> dataset.LoadedDataset:
    """Load the dataset (the shipped files by default), or name the bad file and line, exit 2."""
    try:
        return dataset.load(files)
    except dataset.DatasetError as error:
        click.echo(f"zigraph: cannot read {error}", err=True)
        sys.exit(2)


def files_or_exit(
    data: tuple[Path, ...] = (), ontology: tuple[Path, ...] = (), shapes: tuple[Path, ...] = ()
) -> list[dataset.SourceFile]:
    """Return the dataset's files (the shipped ones unless paths are given), or exit 2."""
    try:
        files = dataset.selected_files(data, ontology, shapes)
        dataset.fingerprint(files)  # every file exists and can be read
    except dataset.DatasetError as error:
        click.echo(f"zigraph: cannot read {error}", err=True)
        sys.exit(2)
    return files


def dataset_options(command):
    """Add --data, --ontology and --shapes, the dataset options every command shares."""
    paths = click.Path(path_type=Path)
    command = click.option(
        "--shapes",
        "shapes_paths",
        multiple=True,
        type=paths,
        help="Shapes file or folder, instead of the shipped shapes (add the word "
        "'shipped' to keep them too). Repeatable.",
    )(command)
    command = click.option(
        "--ontology",
        "ontology_paths",
        multiple=True,
        type=paths,
        help="Ontology file or folder, instead of the shipped ontology (add the word "
        "'shipped' to keep it too). Repeatable.",
    )(command)
    return click.option(
        "--data",
        "data_paths",
        multiple=True,
        type=paths,
        envvar="ZIGRAPH_DATA",
        show_envvar=True,
        help="RDF file or folder to serve instead of the shipped data (any format pyoxigraph "
        "reads, gzip too). Repeatable; in ZIGRAPH_DATA, separate paths with ':'.",
    )(command)
