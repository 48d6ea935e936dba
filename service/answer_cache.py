"""Serialized ``/sparql`` answers kept in memory by each web process, for repeated queries.

An answer is keyed by everything that decides its bytes: the dataset version, the result
limit, the exact query text, the ``default-graph-uri`` and ``named-graph-uri`` lists and the
negotiated media type. The same key also gives the answer's ETag, so a client revalidating
with ``If-None-Match`` gets a 304 without the query being evaluated at all.

The embedded store's version is a hash of its content and cannot change while the process
runs, so a cached answer is exactly what evaluating again would give. A remote store's is the
version of the record ``zigraph push`` wrote beside its graphs, read again every 30 s; a remote
store without a record has none, and its answers are never cached here (see
``fixed_version`` of the backends).

The cache holds at most ``RESULT_CACHE_MB`` megabytes (0 disables it) and forgets the least
recently used answers first; an answer larger than an eighth of that is not kept. Only
successful answers are put in: errors, timeouts and crashes raise before they get here.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Protocol

from cachetools import LRUCache
from flask import Response, current_app

from service.security import CACHE_HEADER

ENTRY_OVERHEAD = 200  # bytes counted per entry for the key, the objects and the dict slot
LARGEST_SHARE = 8  # an answer may take at most 1/8 of the budget
_creating = threading.Lock()


class CacheKey(Hashable, Protocol):
    """A key of the cache: hashable, and able to say how many bytes it holds."""

    def weight(self) -> int:
        """Return the bytes of text the key holds."""
        ...


@dataclass(frozen=True)
class AnswerKey:
    """What decides the bytes of an answer."""

    version: str
    result_limit: int | None
    query: str
    default_graph_uris: tuple[str, ...]
    named_graph_uris: tuple[str, ...]
    media_type: str

    def etag(self) -> str:
        """Return the strong ETag of the answer to this key (the same in every process)."""
        parts = json.dumps(
            [
                self.version,
                self.result_limit,
                self.query,
                self.default_graph_uris,
                self.named_graph_uris,
                self.media_type,
            ],
            ensure_ascii=False,
        )
        return f"{self.version}-{hashlib.sha256(parts.encode()).hexdigest()[:32]}"

    def weight(self) -> int:
        """Return the bytes of text the key holds."""
        return len(self.query) + sum(map(len, self.default_graph_uris + self.named_graph_uris))


@dataclass(frozen=True)
class Answer:
    """A serialized answer: its bytes, media type and the headers that describe it."""

    body: bytes
    media_type: str
    headers: tuple[tuple[str, str], ...] = ()
    status: int = 200


def _size(key: CacheKey, answer: Answer) -> int:
    return (
        len(answer.body)
        + key.weight()
        + sum(len(n) + len(v) for n, v in answer.headers)
        + ENTRY_OVERHEAD
    )


def _entry_size(entry: tuple[Answer, int]) -> int:
    return entry[1]


class AnswerCache:
    """A thread-safe LRU mapping of keys to answers (or pages), bounded by total bytes.

    cachetools does the bookkeeping (sizes, least recently used first out); each value is
    kept with its size, counted by ``_size``.
    """

    def __init__(self, budget: int) -> None:
        self.budget = max(0, budget)
        self._entries: LRUCache = LRUCache(maxsize=max(1, self.budget), getsizeof=_entry_size)
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> Answer | None:
        """Return the cached answer to ``key`` (now the most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def put(self, key: CacheKey, answer: Answer) -> None:
        """Keep an answer, forgetting the least recently used ones past the budget."""
        size = _size(key, answer)
        if size > self.budget // LARGEST_SHARE:
            return
        with self._lock:
            self._entries[key] = (answer, size)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Return the bytes counted for the cached answers."""
        return int(self._entries.currsize)


def not_modified() -> Response:
    """Return the 304 for a client that holds the answer or page its ETag names."""
    response = Response(status=304, headers={CACHE_HEADER: "hit"})
    del response.headers["Content-Type"]
    response.vary.add("Accept")
    return response


def process_cache(name: str, megabytes: float) -> AnswerCache:
    """Return this process's cache ``name`` of the application, made on first use."""
    app = current_app
    cache = app.extensions.get(name)
    if cache is None:
        with _creating:
            cache = app.extensions.get(name)
            if cache is None:
                cache = app.extensions[name] = AnswerCache(int(megabytes * 2**20))
    return cache


def get_answer_cache() -> AnswerCache:
    """Return this process's answer cache, sized by the setting ``result_cache_mb``."""
    return process_cache(
        "zigraph.answers", current_app.extensions["zigraph.settings"].result_cache_mb
    )
