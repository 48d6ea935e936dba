"""Check zigraph's DCAT catalogue against the DCAT-AP SHACL shapes that SEMIC publishes.

Builds a store of the shipped data (or ``--data``), asks the application for ``/catalog`` in
Turtle, as a client would, and validates it with pySHACL against each set of shapes given.
The catalogue is checked twice: as a deployment without catalogue settings emits it, and with
the settings a data office would set (``CONFIGURED``). Writes a Markdown report.

    python bench/dcat_ap.py --shapes SHAPES/dcat-ap-SHACL.ttl,SHAPES/ranges.ttl \\
        --shapes SHAPES/shapes.ttl,SHAPES/shapes_recommended.ttl,SHAPES/range.ttl \\
        --output bench/results/dcat-ap.md

Each ``--shapes`` is one set of files checked together: above, the release's machine-readable
shapes (``shacl/``) and those of its HTML specification (``html/shacl/``), which add the
recommended properties as warnings.

The shapes stay out of this repository: take them from a copy of SEMICeu/DCAT-AP
(``git -C <mirror> archive HEAD releases/3.0.1 | tar -x -C <folder>``). The shapes that
check values against the EU vocabularies (``mdr-vocabularies.shape.ttl``) need those
vocabularies loaded from the network, which this check does not reach.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import click
import pyshacl
from pyshacl import validate
from rdflib import BNode, Graph
from rdflib.namespace import SH

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from service import create_app, dataset  # noqa: E402
from service.store import building  # noqa: E402

# Why the catalogue leaves out what the recommended shapes' warnings ask for, by path.
LEFT_OUT = {
    "http://data.europa.eu/r5r/availability": "how long a download stays available is the "
    "operator's promise, which zigraph cannot know",
    "http://purl.org/dc/terms/type": "the publisher's and the licence's kind (ADMS publisher "
    "type, licence type): no setting names them yet",
    "http://www.w3.org/ns/dcat#bbox": "the data names places but holds no geometry",
    "http://www.w3.org/ns/dcat#centroid": "the data names places but holds no geometry",
    "http://www.w3.org/ns/dcat#theme": "set by `ZIGRAPH_DATASET_THEMES`; no default is true "
    "of any data",
    "http://www.w3.org/ns/dcat#themeTaxonomy": "stated with the themes",
}

# What a data office would set for the shipped data (docs/configuration.md#the-catalogue).
CONFIGURED = {
    "PUBLISHER_NAME": "Dinas Komunikasi dan Informatika",
    "CONTACT_EMAIL": "data@example.go.id",
    "DATASET_TITLE_ID": "Predikat Zona Integritas instansi pemerintah",
    "DATASET_TITLE_EN": "Zona Integritas designations of Indonesian public bodies",
    "DATASET_SPATIAL": "http://publications.europa.eu/resource/authority/country/IDN",
    "DATASET_THEMES": "GOVE",
}


def catalogue(store: Path, settings: dict[str, str]) -> Graph:
    """Return the catalogue the application serves with ``settings``, parsed."""
    app = create_app({"TESTING": True, "STORE_DIR": str(store), **settings})
    try:
        answer = app.test_client().get("/catalog", headers={"Accept": "text/turtle"})
        assert answer.status_code == 200, answer.status_code
        return Graph().parse(data=answer.get_data(as_text=True), format="turtle")
    finally:
        app.extensions["zigraph.store"].close()


def dangling_shapes(shapes: Graph) -> list[str]:
    """Remove the references to property shapes the files do not define; return them."""
    undefined = {
        node
        for node in shapes.objects(None, SH.property)
        if shapes.value(node, SH.path) is None and not isinstance(node, BNode)
    }
    for node in undefined:
        shapes.remove((None, SH.property, node))
    return sorted(str(node) for node in undefined)


def check(data: Graph, shapes: Graph) -> tuple[bool, list[tuple[str, str, str, str]], float]:
    """Validate ``data``; return whether it conforms, its results and the seconds it took."""
    started = time.monotonic()
    conforms, report, _ = validate(data, shacl_graph=shapes, inference="none")
    seconds = time.monotonic() - started
    results = []
    for result in report.subjects(SH.resultSeverity, None):
        results.append(
            (
                str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1],
                str(report.value(result, SH.focusNode)),
                str(report.value(result, SH.resultPath)),
                str(report.value(result, SH.resultMessage)),
            )
        )
    return bool(conforms), sorted(results), seconds


@click.command()
@click.option(
    "--shapes",
    "shape_sets",
    multiple=True,
    required=True,
    help="a set of shapes files, separated by commas, checked together; repeat for more sets",
)
@click.option("--data", "data_paths", multiple=True, type=click.Path(exists=True))
@click.option("--output", type=click.Path(), default=None, help="write the report here")
@click.option(
    "--source",
    default="SEMICeu/DCAT-AP, release 3.0.1",
    help="where the shapes come from (a repository and commit), for the report",
)
def main(
    shape_sets: tuple[str, ...], data_paths: tuple[str, ...], output: str | None, source: str
) -> None:
    """Validate the catalogue against each set of DCAT-AP shapes; print and write the report."""
    files = (
        dataset.files_for([Path(p) for p in data_paths], "graph_data")
        if data_paths
        else dataset.shipped_files()
    )
    lines = [
        "# The DCAT catalogue against the DCAT-AP SHACL shapes",
        "",
        f"Shapes: {source}. Checked with pySHACL "
        f"{pyshacl.__version__}, no inference, over `/catalog` in Turtle from the shipped data:",
        "",
        "```",
        "python bench/dcat_ap.py "
        + " ".join(
            f"--shapes {','.join(Path(p).name for p in group.split(','))}" for group in shape_sets
        )
        + f" --source '{source}' --output bench/results/dcat-ap.md",
        "```",
        "",
        "| shapes | catalogue | triples | violations | warnings | other results | seconds |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    details, notes = [], []
    warned: set[str] = set()
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store"
        building.prepare_store(files, store, validate=False)
        graphs = {
            name: catalogue(store, settings)
            for name, settings in (
                ("no catalogue settings", {}),
                ("a data office's settings", CONFIGURED),
            )
        }
        for group in shape_sets:
            paths = [Path(p) for p in group.split(",")]
            shapes = Graph()
            for path in paths:
                shapes.parse(path)
            undefined = dangling_shapes(shapes)
            label = " + ".join(f"`{p.name}`" for p in paths)
            if undefined:
                notes.append(
                    f"{label}: {len(undefined)} property shapes are named but not defined in "
                    "the files (pySHACL refuses to run with them) and were left out: "
                    + ", ".join(f"`{u.rsplit('#', 1)[-1]}`" for u in undefined)
                    + "."
                )
            for name, data in graphs.items():
                _, results, seconds = check(data, shapes)
                severities = Counter(r[0] for r in results)
                other = len(results) - severities["Violation"] - severities["Warning"]
                lines.append(
                    f"| {label} | {name} | {len(data)} | {severities['Violation']} | "
                    f"{severities['Warning']} | {other} | {seconds:.1f} |"
                )
                warned |= {path for severity, _, path, _ in results if severity == "Warning"}
                for severity, focus, path, message in results:
                    details.append(
                        f"| {label} | {name} | {severity} | `{focus}` | `{path}` | {message} |"
                    )
    lines += ["", *notes]
    if warned:
        lines += ["", "What the warnings ask for, and why the catalogue leaves it out:", ""]
        lines += [
            f"- `{path}`: {LEFT_OUT.get(path, 'not explained yet')}" for path in sorted(warned)
        ]
    if details:
        lines += [
            "",
            "Each result:",
            "",
            "| shapes | catalogue | severity | focus node | path | message |",
            "| --- | --- | --- | --- | --- | --- |",
            *details,
        ]
    lines += [
        "",
        "The settings of the second catalogue: "
        + ", ".join(f"`ZIGRAPH_{k}`" for k in CONFIGURED)
        + " (`CONFIGURED` in bench/dcat_ap.py). Not checked here: the values against the EU "
        "vocabularies (`mdr-vocabularies.shape.ttl` loads them from the network).",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if output:
        Path(output).write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
