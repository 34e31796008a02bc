"""Objects the app builds once from files (models, tables, statistics), rebuilt when one of the files changes.

Each object has its own lock: it is built under it (two requests never load the same model twice)
and, through :meth:`Registry.use`, held while a request runs the model, because waitress serves
requests on several threads and neither torch modules nor the tokenizer are meant to be shared
between threads mid-call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


class _Slot:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stamp: tuple | None = None
        self.value: Any = None


class Registry:
    """``key`` -> the object ``build()`` made for the files whose ``stamp()`` it was made at."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._slots: dict[str, _Slot] = {}

    def _slot(self, key: str) -> _Slot:
        with self._guard:
            return self._slots.setdefault(key, _Slot())

    @contextmanager
    def use(self, key: str, stamp: Callable[[], tuple], build: Callable[[], Any]) -> Iterator[Any]:
        """The object of ``key``, built now if it is not yet or its files changed; its lock held meanwhile."""
        slot = self._slot(key)
        with slot.lock:
            current = stamp()
            if slot.stamp != current:
                slot.value, slot.stamp = None, None  # the old one goes before the new one is made
                started = time.perf_counter()
                slot.value = build()
                slot.stamp = current
                log.info("loaded %s in %.2f s", key, time.perf_counter() - started)
            yield slot.value

    def get(self, key: str, stamp: Callable[[], tuple], build: Callable[[], Any]) -> Any:
        """The object of ``key`` for reading only (tables, statistics): the lock is not held while it is used."""
        with self.use(key, stamp, build) as value:
            return value

    def loaded(self) -> list[str]:
        with self._guard:
            return sorted(key for key, slot in self._slots.items() if slot.stamp is not None)
