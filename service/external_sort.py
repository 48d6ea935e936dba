"""Sort more lines than fit in memory: sorted runs in temporary files, merged with heapq."""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

DEFAULT_RUN_LINES = 200_000  # about 60 MB of N-Quads lines as Python strings
FAN_IN = 64  # runs merged at once, well under the usual limit of open files


class ExternalSort:
    """Collect lines (without line breaks), then give them back sorted and each once.

    At most ``run_lines`` lines are held in memory: each full batch is sorted and written to
    a temporary file (a run), and the runs are merged lazily. Strings compare by code point,
    as Python's ``sorted`` does, so the order is the same as sorting every line in memory.
    Use it as a context manager: the temporary files are removed on leaving.

    :param run_lines: lines per run (default: ``DEFAULT_RUN_LINES``; the setting
        ``export_run_lines`` is passed by the callers).
    """

    def __init__(self, run_lines: int | None = None) -> None:
        self.run_lines = run_lines or DEFAULT_RUN_LINES
        self.characters = 0  # of every line added, duplicates too: a measure of the work
        self.runs_written = 0
        self._batch: list[str] = []
        self._runs: list[Path] = []
        self._folder: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> ExternalSort:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def add(self, line: str) -> None:
        """Add one line; it must hold no line break."""
        self._batch.append(line)
        self.characters += len(line)
        if len(self._batch) >= self.run_lines:
            self._write_run(sorted(set(self._batch)))
            self._batch = []

    def extend(self, lines: Iterable[str]) -> None:
        """Add every line of ``lines``."""
        for line in lines:
            self.add(line)

    def __iter__(self) -> Iterator[str]:
        """Yield the lines added, sorted, without duplicates."""
        if not self._runs:
            yield from sorted(set(self._batch))
            return
        if self._batch:
            self._write_run(sorted(set(self._batch)))
            self._batch = []
        while len(self._runs) > FAN_IN:  # merge the oldest runs into one until few are left
            merged, self._runs = self._runs[:FAN_IN], self._runs[FAN_IN:]
            self._write_run(self._merged(merged))
            for path in merged:
                path.unlink()
        yield from self._merged(self._runs)

    def close(self) -> None:
        """Remove the temporary files."""
        self._batch = []
        self._runs = []
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _write_run(self, lines: Iterable[str]) -> None:
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="zigraph-sort-")
        self.runs_written += 1
        path = Path(self._folder.name) / f"run-{self.runs_written:06d}"
        with path.open("w", encoding="utf-8", newline="\n") as run:
            run.writelines(f"{line}\n" for line in lines)
        self._runs.append(path)

    def _merged(self, paths: list[Path]) -> Iterator[str]:
        files = [path.open(encoding="utf-8", newline="\n") for path in paths]
        try:
            previous = None
            for line in heapq.merge(*(_lines(file) for file in files)):
                if line != previous:  # the same line may sit in several runs
                    yield line
                    previous = line
        finally:
            for file in files:
                file.close()


def _lines(run) -> Iterator[str]:
    # Compare lines without their line break, as they were sorted: "a" sorts before "a\tb",
    # though "a\n" would sort after "a\tb\n".
    for line in run:
        yield line[:-1]
