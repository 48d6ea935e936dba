"""Settings: typed, read once, every one documented in docs/configuration.md."""

from __future__ import annotations

import dataclasses
import re

import click
import pytest

from service import create_app
from service.cli import cli
from service.settings import SettingError, Settings, variable
from tests.conftest import REPO

VARIABLE = re.compile(r"`(ZIGRAPH_[A-Z_]+)`")


def documented() -> dict[str, tuple[str, str]]:
    """Return the configuration table's rows: variable → (flag, default)."""
    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    table = text.split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [cell.strip(" `") for cell in line.split("|")[1:-1]]
        if cells and VARIABLE.fullmatch(f"`{cells[0]}`"):
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_every_setting_is_documented_and_every_documented_variable_is_a_setting():
    names = {variable(field.name) for field in dataclasses.fields(Settings)}
    assert set(documented()) == names


def test_the_documented_numbers_are_the_defaults():
    rows = documented()
    for field in dataclasses.fields(Settings):
        if field.type in ("int", "float"):
            shown = rows[variable(field.name)][1]
            assert float(shown) == float(field.default), field.name


def test_every_flag_reads_the_variable_of_its_setting():
    options = {
        field.metadata["option"]: variable(field.name) for field in dataclasses.fields(Settings)
    }
    context = click.Context(cli)
    for name in cli.list_commands(context):
        command = cli.get_command(context, name)
        assert command is not None, name
        for parameter in command.params:
            if isinstance(parameter, click.Option) and parameter.envvar:
                assert str(parameter.envvar).startswith("ZIGRAPH_")
                flag = max(parameter.opts, key=len)
                assert options.get(flag) == parameter.envvar, (command.name, flag)


def test_values_are_read_as_their_type():
    settings = Settings.from_mapping(
        {"QUERY_TIMEOUT": "2.5", "EVALUATORS": "4", "ALLOW_NETWORKED_STORE": "yes", "STORE_DIR": ""}
    )
    assert settings.query_timeout == 2.5 and settings.evaluators == 4
    assert settings.allow_networked_store is True and settings.store_dir is None


def test_a_value_of_the_wrong_type_names_its_variable(monkeypatch):
    monkeypatch.setenv("ZIGRAPH_QUERY_TIMEOUT", "ten")
    with pytest.raises(SettingError, match="ZIGRAPH_QUERY_TIMEOUT must be a number"):
        create_app({"TESTING": True})


def test_the_application_reads_its_settings_once(store_dir):
    app = create_app({"TESTING": True, "STORE_DIR": str(store_dir), "RESULT_LIMIT": 7})
    try:
        assert app.extensions["zigraph.settings"].result_limit == 7
        app.config["RESULT_LIMIT"] = 9  # the configuration is not read again
        with app.test_request_context():
            from service.settings import get_settings

            assert get_settings().result_limit == 7
    finally:
        if app.extensions["zigraph.store"] is not None:
            app.extensions["zigraph.store"].close()
