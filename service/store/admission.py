"""Admission to a lane of query slots: a short queue, and a bound per client address.

Both backends admit clients' queries through one of these: the embedded store in front of
its clients' evaluators, the remote store in front of its requests to the store. A call is
refused at once when the lane and its queue are full (``EndpointBusy``, 503) or when its
address has as many calls running or waiting as it may (``TooManyQueries``, 429); an
admitted call waits for a free slot until its deadline.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from service.errors import EndpointBusy, TooManyQueries


class Admission:
    """Admit calls to ``size`` slots.

    :param waiting: calls that may wait for a free slot; past them a call is refused at once
        (``EndpointBusy``, 503). None: any number wait, each until its deadline.
    :param per_client: calls one client address may have running or waiting; past them
        ``TooManyQueries`` (429). None: no such bound.
    :param slot_name: what a slot is, for the messages ("query evaluator").
    """

    def __init__(
        self,
        size: int,
        *,
        waiting: int | None = None,
        per_client: int | None = None,
        slot_name: str = "query evaluator",
    ) -> None:
        self.size = max(1, size)
        self.waiting = waiting
        self.per_client = per_client
        self.slot_name = slot_name
        self.admitted = 0  # calls running or waiting
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._by_client: Counter[str] = Counter()

    @contextmanager
    def slot(self, deadline: float, client: str | None = None) -> Iterator[None]:
        """Hold a slot for the body of the ``with``, or raise at once when refused.

        :param deadline: ``time.monotonic()`` until which an admitted call waits for a slot;
            past it ``EndpointBusy``.
        :param client: the address the call is made for, counted against ``per_client``.
        """
        self._admit(client)
        try:
            if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise EndpointBusy(f"every {self.slot_name} stayed busy until the time limit")
            try:
                yield
            finally:
                self._slots.release()
        finally:
            self._leave(client)

    def _admit(self, client: str | None) -> None:
        with self._lock:
            if self.waiting is not None and self.admitted >= self.size + self.waiting:
                raise EndpointBusy(
                    f"every {self.slot_name} is busy and the queue is full; try again shortly"
                )
            if client is not None and self.per_client is not None:
                if self._by_client[client] >= self.per_client:
                    raise TooManyQueries(
                        f"this address already has {self.per_client} queries running or "
                        "waiting here; wait for their answers before sending more"
                    )
                self._by_client[client] += 1
            self.admitted += 1

    def _leave(self, client: str | None) -> None:
        with self._lock:
            self.admitted -= 1
            if client is not None and self.per_client is not None:
                self._by_client[client] -= 1
                if self._by_client[client] <= 0:
                    del self._by_client[client]
