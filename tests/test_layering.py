"""The modules import downwards only: command line → app and routes → store → core."""

from __future__ import annotations

import subprocess
import sys

from tests.module_graph import ROOT, cycles, graph

COMMAND_LINE, ROUTES, STORE, CORE = 3, 2, 1, 0
# Modules by layer; a module not named here is core.
LAYERS = {
    "service.cli": COMMAND_LINE,
    "service.cli_options": COMMAND_LINE,
    "service.serve": COMMAND_LINE,
    "service.server": COMMAND_LINE,
    "service.push": COMMAND_LINE,
    "service.scaffold": COMMAND_LINE,
    "service": ROUTES,  # create_app
    "service.sparql": ROUTES,
    "service.descriptions": ROUTES,
    "service.citations": ROUTES,
    "service.downloads": ROUTES,
    "service.health": ROUTES,
    "service.security": ROUTES,
    "service.error_handlers": ROUTES,
    "service.answer_cache": ROUTES,
    "service.page_cache": ROUTES,
    "service.metrics": ROUTES,
    "service.validation_report": ROUTES,
    "service.pages": ROUTES,
    "service.warming": ROUTES,  # renders pages ahead, through their views
    "service.store": STORE,
    "service.search": CORE,  # the index of labels and passages: built by the store, read by pages
}


def layer(module: str) -> int:
    """Return the layer of a module: its own entry, else its package's, else core."""
    if module in LAYERS:
        return LAYERS[module]
    while "." in module.removeprefix("service."):
        module = module.rpartition(".")[0]
        if module in LAYERS:
            return LAYERS[module]
    return CORE


def test_no_module_imports_a_module_of_a_layer_above():
    upward = [
        f"{source} ({layer(source)}) imports {target} ({layer(target)})"
        for source, targets in graph().items()
        for target in targets
        if layer(target) > layer(source)
    ]
    assert upward == []


def test_no_two_modules_import_each_other():
    assert cycles(graph()) == []


def test_importing_the_errors_imports_no_serializer_or_store():
    script = (
        "import sys, service.errors; "
        "print(' '.join(m for m in sys.modules if m.startswith('service')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "service.errors" in output
    assert not {"service.export", "service.results", "service.negotiation"} & set(output)
    assert not [m for m in output if m.startswith("service.store")]


def test_the_command_line_module_leaves_the_validator_the_http_client_and_gunicorn_out():
    # Every query evaluator imports the program's main module (multiprocessing does), and under
    # the zigraph command that is service.cli: what it imports, each evaluator holds.
    script = "import sys, service.cli; print(' '.join(sys.modules))"
    output = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "service.cli" in output
    heavy = {"pyshacl", "requests", "gunicorn", "service.serve", "service.push"}
    assert heavy & set(output) == set()


def test_the_lazy_commands_are_listed_and_load():
    import click

    from service.cli import LAZY_COMMANDS, cli

    context = click.Context(cli)
    assert set(LAZY_COMMANDS) <= set(cli.list_commands(context))
    for name in LAZY_COMMANDS:
        command = cli.get_command(context, name)
        assert command is not None and command.name == name
