"""Parsed specs, cached per process definition (parsing is ~1 ms; instances never store specs)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.engine.model import ModelIndex, build_model_index
from app.engine.parsing import load_process


@dataclass
class LoadedProcess:
    definition_id: str
    key: str
    spec: Any
    subprocess_specs: dict[str, Any]
    index: ModelIndex


class SpecCache:
    def __init__(self, max_size: int = 512) -> None:
        self._items: OrderedDict[str, LoadedProcess] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_size

    def get(self, definition_id: str, key: str, resources: Callable[[], dict[str, bytes]]) -> LoadedProcess:
        with self._lock:
            item = self._items.get(definition_id)
            if item is not None:
                self._items.move_to_end(definition_id)
                return item
        data = resources()
        spec, subprocess_specs = load_process(data, key)
        item = LoadedProcess(definition_id, key, spec, subprocess_specs, build_model_index(data, key))
        with self._lock:
            self._items[definition_id] = item
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return item

    def evict(self, definition_id: str) -> None:
        with self._lock:
            self._items.pop(definition_id, None)
