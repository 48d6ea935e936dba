"""Build the embedded store from RDF files: the one builder, used by serve and by the tests.

``prepare_store`` builds a store from the files and validates them, side by side, or reuses
a store built from the same files; ``build_store`` streams the files into a new store.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import itertools
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pyoxigraph as ox

from service import dataset as datasets
from service import search, statistics
from service.store.embedded import (
    LISTED_MEMBERS,
    PART_NAMES,
    SEARCH,
    STATISTICS,
    being_finished,
    finished,
    marker_file,
    read_metadata,
    save_class_members,
    save_statistics,
    write_metadata,
)

# Quads the bulk loader holds at a time. Its memory grows with what one call is given (about
# 1 GB for a million quads at once, 230 MB in batches of this size, and no slower): the
# store's files are compacted by optimize() afterwards either way.
LOAD_BATCH = 200_000
# Files of this many bytes or more are surveyed (``statistics.LoadSurvey``) by a second reader
# in a process of its own, on the other core, while they are loaded: in the loading process
# the survey cost about a second a million quads (its load 9.1 s against 8.1 s without, by
# hand). Below this size starting a process costs more than it saves.
SURVEY_APART_BYTES = 32 * 1024 * 1024


class StoreFolderInUse(Exception):
    """The store folder holds something that is not a store zigraph built."""


def bulk_load(store: ox.Store, quads: Iterable[ox.Quad], batch: int = LOAD_BATCH) -> None:
    """Add the quads to a new store with its bulk loader, ``batch`` quads at a time."""
    quads = iter(quads)
    while True:
        first = next(quads, None)
        if first is None:
            return
        store.bulk_extend(itertools.chain([first], itertools.islice(quads, batch - 1)))


def build_store(files: list[datasets.SourceFile], path: Path) -> dict:
    """Stream the files into a new Oxigraph store at ``path`` and return its metadata.

    Quads go from the parser to the store one at a time (no list of them is ever made), with
    a progress bar on a terminal. The metadata keeps the files' fingerprint, so that a later
    start over the same files reuses the store; a file that cannot be parsed leaves no store.
    """
    path.mkdir(parents=True, exist_ok=True)
    if any(path.iterdir()):
        raise StoreFolderInUse(f"{path} is not empty; remove it or choose another --store-dir")
    digest = hashlib.sha256()
    size = datasets.total_size(files)
    apart = SurveyApart(files) if size >= SURVEY_APART_BYTES else None
    store = ox.Store(str(path))
    survey = statistics.LoadSurvey()
    try:
        with datasets.progress_bar(size, "loading") as progress:
            quads = datasets.stream_quads(files, digest, progress)
            bulk_load(store, quads if apart else survey.watch(quads))
        store.flush()
        store.optimize()
        figures = survey.figures() if apart is None else apart.figures(digest.hexdigest())
    except BaseException:
        if apart is not None:
            apart.stop()
        del store
        shutil.rmtree(path, ignore_errors=True)
        raise
    graphs = sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode))
    metadata = {
        "version": digest.hexdigest()[:16],
        "fingerprint": datasets.fingerprint(files),
        "triples": len(store),
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "modified": datasets.newest_modification(files),  # the data's own time
        "graphs": graphs,
        "roles": {role: [f.graph for f in files if f.role == role] for role in datasets.ROLES},
        "source_folders": datasets.source_folders(files),
        "survey": figures,  # for the statistics, which count the rest (or all) by query
    }
    del store
    write_metadata(path, metadata)
    return metadata


class SurveyApart:
    """The survey of files made by a process of its own, which reads them beside the load."""

    def __init__(self, files: list[datasets.SourceFile]) -> None:
        context = multiprocessing.get_context("spawn")
        self._answer, writer = context.Pipe(duplex=False)
        self._process = context.Process(target=_survey, args=(files, writer), daemon=True)
        self._process.start()
        writer.close()

    def figures(self, digest: str) -> dict | None:
        """Wait for the survey and return its figures; None when it failed, or when the files
        it read were not those the load read (``digest``: the load's sha256 of them); the
        statistics then count everything by query."""
        try:
            figures, seen = self._answer.recv()
        except EOFError:  # it died; what it printed says why
            figures, seen = None, None
        finally:
            self.stop()
        if seen != digest:
            said = "zigraph: the survey of the files failed, or read other bytes than the load;"
            print(f"{said} the statistics count it all by query", file=sys.stderr, flush=True)
            return None
        return figures

    def stop(self) -> None:
        """End the process, done or not."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._answer.close()


def _survey(files: list[datasets.SourceFile], answer) -> None:
    """Survey the files and send the figures with the sha256 of what was read (in the process
    ``SurveyApart`` starts)."""
    from service.store.isolation import die_with_parent

    die_with_parent()
    digest = hashlib.sha256()
    survey = statistics.LoadSurvey()
    for _ in survey.watch(datasets.stream_quads(files, digest)):
        pass
    answer.send((survey.figures(), digest.hexdigest()))
    answer.close()


def count_statistics(path: Path) -> float:
    """Count a built store's VoID statistics and list its large classes, for the pages.

    Return the seconds it took.
    """
    started = time.monotonic()
    store = ox.Store.read_only(str(path))
    try:
        figures = statistics.from_store(store, (read_metadata(path) or {}).get("survey"))
        members = figures["data_classes"]["members"]
        save_class_members(store, path, [c for c, n in members.items() if n > LISTED_MEMBERS])
        save_statistics(path, figures)
    finally:
        del store
    return round(time.monotonic() - started, 1)


def index_for_search(path: Path) -> float:
    """Index a built store's labels and passages for /search; return the seconds it took.

    The index is written beside its final folder and moved there whole, so that a web process
    never opens one cut short.
    """
    started = time.monotonic()
    folder = path / search.INDEX_FOLDER
    partial = folder.with_name(folder.name + ".partial")
    store = ox.Store.read_only(str(path))
    try:
        search.build_from_store(store, partial)
        shutil.rmtree(folder, ignore_errors=True)
        partial.replace(folder)
    finally:
        del store
    return round(time.monotonic() - started, 1)


# What a loaded store still needs before every page can be shown, each made by one function.
FINISHING = {STATISTICS: count_statistics, SEARCH: index_for_search}
FINISHING_NICENESS = 10
_finishing: list[tuple[subprocess.Popen, list[Path]]] = []
# What the process finish_in_background starts runs: a new interpreter (``-c``), not a
# multiprocessing child, whose record every gunicorn worker forked from this process inherits:
# multiprocessing's exit handler in a worker that ended (restarted, or stopped) terminated it.
FINISH_PROGRAM = (
    "import sys; from pathlib import Path; from service.store.building import finish; "
    "finish(Path(sys.argv[1]), sys.argv[2:])"
)


def unfinished(path: Path) -> list[str]:
    """Return what a built store still lacks of ``FINISHING`` (and nobody is making)."""
    return [
        part for part in FINISHING if not finished(path, part) and not being_finished(path, part)
    ]


def finish_in_background(path: Path, parts: list[str], say: Callable[[str], object]) -> None:
    """Make the parts of a loaded store in a process of its own, while the service starts.

    The parts are made one after the other (the statistics first, which most pages need):
    side by side they finished 15 s sooner at a million triples, but both held their memory
    (410 and 340 MB) at once next to the starting service's. A marker beside the store names
    the process while it makes each part (``being_finished`` reads it, and pages that need the
    part answer 503 with ``Retry-After`` meanwhile). The process is killed when this one ends.
    Call before any thread is started here: gunicorn forks its workers from this process.
    """
    process = subprocess.Popen(
        [sys.executable, "-c", FINISH_PROGRAM, str(path), *parts], stdin=subprocess.DEVNULL
    )
    markers = [marker_file(path, part) for part in parts]
    for marker in markers:
        marker.write_text(f"{process.pid}\n")
    if process.poll() is not None:  # done already: it may have looked for its markers before
        for marker in markers:
            marker.unlink(missing_ok=True)
    _finishing.append((process, markers))
    say(
        f"making the {' and then the '.join(PART_NAMES[p] for p in parts)} in the background; "
        "SPARQL queries are answered meanwhile, pages that need them answer 503 until then"
    )


def finish(path: Path, parts: list[str]) -> None:
    """Make the parts of the store at ``path``, one after the other, at a lower CPU priority:
    the process ``finish_in_background`` starts, which ends with the one that started it."""
    from service.store.isolation import die_with_parent

    die_with_parent()
    os.nice(FINISHING_NICENESS)  # the web processes starting meanwhile come first
    try:
        for part in parts:
            seconds = make_apart(part, path)
            marker_file(path, part).unlink(missing_ok=True)
            print(f"zigraph: {PART_NAMES[part]} made in {seconds} s", file=sys.stderr, flush=True)
    finally:
        for part in parts:
            marker_file(path, part).unlink(missing_ok=True)


def make_apart(part: str, path: Path) -> float:
    """Make one part of ``FINISHING`` in a child process of its own; return its seconds.

    What a part held goes back to the machine before the next starts: the statistics and then
    the search index in one process peaked at 477 MB at a million triples, against 410 MB for
    the statistics alone. Call from a process without threads (``finish``'s).
    """
    from service.store.isolation import die_with_parent

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: make the part, write its seconds, and leave without cleanup
        code = 1
        try:
            os.close(reader)
            die_with_parent()
            os.write(writer, str(FINISHING[part](path)).encode())
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader) as answer:
        said = answer.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not said:
        raise RuntimeError(f"making the {PART_NAMES[part]} failed (the log above says why)")
    return float(said)


def stop_finishing() -> None:
    """Stop the process ``finish_in_background`` started, if it is still running."""
    for process, markers in _finishing:
        # The markers go when the process is done: gunicorn's master may have reaped it.
        if any(marker.exists() for marker in markers) and process.poll() is None:
            process.kill()
            process.wait()
    _finishing.clear()


def build_timed(files: list[datasets.SourceFile], path: Path) -> dict:
    """Build a store of the files at ``path``; return its metadata with the seconds it took."""
    started = time.monotonic()
    metadata = build_store(files, path)
    metadata["load_seconds"] = round(time.monotonic() - started, 1)
    return metadata


def validate_timed(files: list[datasets.SourceFile]):
    """Validate the files; return the report and the seconds it took."""
    from service.validation import validate

    started = time.monotonic()
    report = validate(files)
    return report, round(time.monotonic() - started, 1)


def build_isolated(
    files: list[datasets.SourceFile], path: Path, validate: bool, finish: bool = True
) -> dict:
    """Build the store and validate the files, side by side in child processes.

    Once the store is loaded, its statistics and its search index are made in two more,
    side by side (unless ``finish`` is False and nothing is validated: the caller then has
    them made, see ``finish_in_background``).

    The report is saved beside the store, for the pages, and the outcome (conformance, the
    seconds it took, the engine) goes into the store's metadata, so that a restart over
    unchanged files needs neither step again. The storage engine leaves threads behind in
    the process that writes a store; gunicorn workers forked from such a master hang when
    they exit. So the master never opens one.
    """
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(3, mp_context=context) as executor:
        built = executor.submit(build_timed, files, path)
        checked = executor.submit(validate_timed, files) if validate else None
        metadata = built.result()
        # Both read the built store, each in its own process, side by side; while the files
        # are validated (which the caller waits for anyway), whatever ``finish`` says.
        if finish or checked is not None:
            counted = executor.submit(count_statistics, path)
            indexed = executor.submit(index_for_search, path)
            metadata["statistics_seconds"] = counted.result()
            metadata["search_index_seconds"] = indexed.result()
        write_metadata(path, metadata)
        if checked is not None:
            report, seconds = checked.result()
            report.save(path)
            metadata["validation"] = {
                "conforms": report.conforms,
                "violations": len(report.results),
                "seconds": seconds,
                "engine": report.engine,
            }
            write_metadata(path, metadata)
    return metadata


def prepare_store(
    files: list[datasets.SourceFile],
    store_dir: Path | None,
    validate: bool = True,
    say: Callable[[str], object] = print,
    background: bool = False,
) -> tuple[Path, dict, bool]:
    """Return a built store of the files, its metadata and whether it is temporary.

    A ``store_dir`` whose store was built from the same files (same paths, sizes and
    modification times) is reused without reading them; one built from other files is
    rebuilt; any other non-empty folder is refused (StoreFolderInUse), so no user file is
    ever deleted. A file that cannot be read raises DatasetError.

    :param say: what to tell the user (a reused or rebuilt store).
    :param background: return once the store is loaded (and the files validated), and have
        its statistics and search index made in the background (``finish_in_background``).
    """
    key = datasets.fingerprint(files)
    temporary = store_dir is None
    path = Path(tempfile.mkdtemp(prefix="zigraph-store-")) if store_dir is None else store_dir
    metadata = None if temporary else read_metadata(path)
    if metadata is not None:
        if metadata.get("fingerprint") == key and (metadata.get("validation") or not validate):
            say(f"reusing the store in {path} (data unchanged)")
            metadata = {**metadata, "reused": True}
        else:
            say(f"rebuilding the store in {path} (data changed)")
            shutil.rmtree(path)
            metadata = None
    if metadata is None:
        metadata = build_isolated(files, path, validate, finish=not background)
    if background and (parts := unfinished(path)):
        finish_in_background(path, parts, say)
    return path, metadata, temporary


def temporary_store() -> Path:
    """Build the shipped data into a temporary store, removed when the process exits."""
    import atexit

    path = Path(tempfile.mkdtemp(prefix="zigraph-store-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    build_store(datasets.shipped_files(), path)
    return path
