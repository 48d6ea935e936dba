"""Every setting of zigraph in one typed object, read once: ``Settings``.

Each field is a ``ZIGRAPH_*`` environment variable (``query_timeout`` is
``ZIGRAPH_QUERY_TIMEOUT``) with its type, default and meaning. The application factory reads
them once (``Settings.from_mapping``, over Flask's configuration, so tests may pass values as
``create_app({"QUERY_TIMEOUT": 2})``) and modules reach them through ``get_settings()``; the
commands read them from the environment with ``Settings.from_environment()``. Nothing else
reads ``ZIGRAPH_*`` variables. docs/configuration.md lists them all, and a test holds the two
together.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from service.namespaces import ID_BASE

PREFIX = "ZIGRAPH_"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


class SettingError(ValueError):
    """A setting's value cannot be read as its type."""


def setting(default: Any, meaning: str, option: str = "", secret: bool = False) -> Any:
    """Return a dataclass field for one setting, with its meaning (and command-line option)."""
    return field(
        default=default,
        repr=not secret,
        metadata={"meaning": meaning, "option": option, "secret": secret},
    )


@dataclass(frozen=True)
class Settings:
    """The settings of one deployment; ``ZIGRAPH_`` + the field name in capitals sets each."""

    # what is served
    data: str = setting(
        "", "RDF files and folders to serve, separated by ':' (empty: the shipped data)", "--data"
    )
    store_dir: Path | None = setting(
        None,
        "keep the built Oxigraph store here; reused while the data is unchanged, opened "
        "read-only by every process (none: a temporary folder)",
        "--store-dir",
    )
    endpoint: str = setting(
        "", "serve a remote SPARQL 1.1 endpoint instead of the embedded store", "--endpoint"
    )
    graph_store: str = setting(
        "", "the remote store's Graph Store Protocol URL that zigraph push loads", "--graph-store"
    )
    store_user: str = setting(
        "", "user name at the remote store (for serve --endpoint and push)", "--user"
    )
    store_password: str | None = setting(
        None, "its password (or a line for the host in ~/.netrc); never printed", secret=True
    )
    no_validate: bool = setting(False, "serve the data without validating it", "--no-validate")
    base_iri: str = setting(
        ID_BASE,
        "the entity IRIs served at /id/; set it to serve a deployment's own IRIs one to one",
    )
    # the catalogue (/catalog, DCAT-AP): who publishes the data and what it is
    publisher_name: str = setting(
        "", "the publisher's name in the catalogue (empty: the operator of the public URL's host)"
    )
    publisher_url: str = setting("", "the publisher's web page (empty: none is stated)")
    contact_name: str = setting("", "the contact point's name (empty: the publisher's)")
    contact_email: str = setting(
        "", "the contact point's e-mail address (empty: the service's home page is the contact)"
    )
    dataset_title_id: str = setting("", "the dataset's title in Indonesian (empty: a generic one)")
    dataset_title_en: str = setting("", "the dataset's title in English (empty: a generic one)")
    dataset_description_id: str = setting(
        "", "the dataset's description in Indonesian (empty: one counted from the data)"
    )
    dataset_description_en: str = setting(
        "", "the dataset's description in English (empty: one counted from the data)"
    )
    dataset_keywords_id: str = setting(
        "", "keywords in Indonesian, separated by ',' (empty: the data's largest classes)"
    )
    dataset_keywords_en: str = setting(
        "", "keywords in English, separated by ',' (empty: the data's largest classes)"
    )
    dataset_spatial: str = setting(
        "",
        "places the data covers beyond those it names (IRIs separated by spaces, e.g. the EU "
        "country authority's .../country/IDN)",
    )
    dataset_themes: str = setting(
        "", "EU data themes of the dataset, separated by spaces (codes such as GOVE, or IRIs)"
    )
    dataset_issued: str = setting(
        "", "the date the dataset was first published, YYYY-MM-DD (empty: the data's own time)"
    )
    data_modified: str = setting(
        "",
        "the data's modification time, ISO 8601 (empty: the newest data file's modification "
        "time, recorded when the store is built)",
    )
    # where and how it listens
    host: str = setting("127.0.0.1", "the address to listen on", "--host")
    port: int = setting(5000, "the port to listen on", "--port")
    workers: int = setting(2, "gunicorn web processes", "--workers")
    threads: int = setting(32, "threads per web process", "--threads")
    public_url: str = setting(
        "",
        "the base of absolute URLs in the service description, VoID and DCAT (empty: the "
        "address serve listens on)",
    )
    proxy_hops: int = setting(0, "trusted reverse proxies whose X-Forwarded-* headers are believed")
    metrics_public: bool = setting(
        False, "answer /metrics to any address, not only to this machine's (loopback)"
    )
    # queries
    query_timeout: float = setting(10.0, "seconds a query may run", "--query-timeout")
    result_limit: int = setting(10000, "most rows or triples of one answer")
    evaluators: int = setting(3, "evaluator processes for clients' queries, per web process")
    service_evaluators: int = setting(
        2,
        "evaluator processes for the service's own queries (pages, search, health, dumps), "
        "per web process",
    )
    evaluator_idle_seconds: float = setting(
        2.0,
        "seconds an evaluator idles before it is replaced by a fresh one if its store caches "
        "grew (it gives their memory back; the one used last is kept); 0: never",
    )
    queries_per_client: int = setting(
        2,
        "queries one client address may have running or waiting in a web process (429 past "
        "it; 0: no bound)",
    )
    client_niceness: int = setting(10, "how much lower the CPU priority of clients' evaluators is")
    evaluator_isolation: str = setting(
        "auto", "netns, seccomp, or auto: the first of them the kernel allows"
    )
    allow_networked_evaluators: bool = setting(
        False,
        "serve even where evaluators cannot be cut off the network (the parser's refusals "
        "are then the only guard)",
    )
    allow_networked_store: bool = setting(
        False, "serve a remote store that fetched zigraph's probe URL at start"
    )
    evaluator_allocator: str = setting(
        "auto",
        "memory allocator the evaluators run with: auto (mimalloc, else jemalloc, where the "
        "machine has it), system (the C library's), or a shared library's path",
    )
    evaluator_memory_mb: int = setting(
        1024,
        "heap cap of one evaluator, MB (0: none); keep workers × (evaluators + service "
        "evaluators) × cap under the machine's memory",
    )
    # requests and answers
    max_content_length: int = setting(512 * 1024, "largest request body, bytes (413 past it)")
    max_url_length: int = setting(8000, "longest query string, bytes (414 past it)")
    dump_max_age: int = setting(
        3600, "seconds caches may keep dumps and the descriptions (Cache-Control: max-age)"
    )
    answer_max_age: int = setting(
        3600, "seconds caches may keep /sparql answers of the embedded store"
    )
    result_cache_mb: float = setting(
        64, "memory for the answers to repeated queries, per web process (0: none kept)"
    )
    page_cache_mb: float = setting(
        64,
        "memory for entity pages and documents already rendered, per web process, kept "
        "while the embedded store's data version lasts (0: none kept)",
    )
    shared_pages: bool = setting(
        True,
        "share the pages rendered by one web process with the others, as files beside the "
        "dumps (each process writes at most page_cache_mb of them a data version)",
    )
    export_run_lines: int = setting(
        200_000,
        "statements zigraph export and the dumps sort in memory at a time, the rest on disk "
        "(the output is the same whatever it is)",
    )

    def __post_init__(self) -> None:
        if self.export_run_lines < 1:
            raise SettingError(f"{variable('export_run_lines')} must be a positive whole number")
        for name in ("data_modified", "dataset_issued"):
            value = getattr(self, name)
            try:
                if value:
                    datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise SettingError(
                    f"{variable(name)} must be an ISO 8601 date or time, not {value!r}"
                ) from None
        if self.dataset_issued and len(self.dataset_issued) != len("YYYY-MM-DD"):
            raise SettingError(f"{variable('dataset_issued')} must be a date, YYYY-MM-DD")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Settings:
        """Read the settings from a mapping keyed by their names in capitals (Flask's config)."""
        values = {}
        for spec in dataclasses.fields(cls):
            key = spec.name.upper()
            if key in mapping and mapping[key] is not None:
                values[spec.name] = _convert(spec, mapping[key])
        return cls(**values)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``ZIGRAPH_*`` environment variables."""
        environ = os.environ if environ is None else environ
        prefixed = {n[len(PREFIX) :]: v for n, v in environ.items() if n.startswith(PREFIX)}
        return cls.from_mapping(prefixed)

    def as_config(self) -> dict[str, Any]:
        """Return the settings keyed by their names in capitals, as Flask's config holds them."""
        return {spec.name.upper(): getattr(self, spec.name) for spec in dataclasses.fields(self)}


def variable(name: str) -> str:
    """Return the environment variable of a setting (``query_timeout``: ZIGRAPH_QUERY_TIMEOUT)."""
    return PREFIX + name.upper()


def _convert(spec: dataclasses.Field, raw: Any) -> Any:
    """Return ``raw`` as the setting's type, or raise SettingError naming the variable."""
    kind = spec.type if isinstance(spec.type, str) else spec.type.__name__
    name = variable(spec.name)
    text = raw.strip() if isinstance(raw, str) else raw
    try:
        if kind == "bool":
            if isinstance(text, bool):
                return text
            word = str(text).lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise ValueError(word)
        if kind == "int":
            if isinstance(text, bool) or (isinstance(text, float) and not text.is_integer()):
                raise ValueError(text)
            return int(text)
        if kind == "float":
            if isinstance(text, bool):
                raise ValueError(text)
            return float(text)
        if kind == "Path | None":
            return Path(text) if text not in ("", None) else None
        return str(raw)  # a string (a password may hold spaces at its ends)
    except (TypeError, ValueError):
        expected = {"bool": "1 or 0", "int": "a whole number", "float": "a number"}.get(kind, kind)
        raise SettingError(f"{name} must be {expected}, not {raw!r}") from None


def get_settings() -> Settings:
    """Return the settings of the current application."""
    from flask import current_app

    return current_app.extensions["zigraph.settings"]
