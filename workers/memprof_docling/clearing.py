"""The cache clear of the seed's worker, every ``jobs_between_cache_clear`` jobs.

docling-jobkit's ``clear_cache_task`` only calls the converter LRU's ``cache_clear`` and
``gc.collect()``. The instrumented worker of the seed goes further, and so does this: each
converter's ``initialized_pipelines`` are emptied, the manager's ``_options_map`` (never pruned
by jobkit) is cleared, then ``gc.collect()`` runs over every generation. Converters are found
through a ``WeakSet`` filled by wrapping ``get_converter``: the LRU does not list its entries.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any


class ConverterTracker:
    """The converters the manager has handed out and that are still alive."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self.converters: weakref.WeakSet[Any] = weakref.WeakSet()
        original = manager.get_converter

        def get_converter(option: Any) -> Any:
            converter = original(option)
            self.converters.add(converter)
            return converter

        manager.get_converter = get_converter

    def cached_converters(self) -> int:
        info = self.manager._get_converter_from_hash.cache_info()
        return int(info.currsize)

    def pipelines(self) -> int:
        return sum(len(getattr(c, "initialized_pipelines", {}) or {}) for c in self.converters)

    def options_side_map(self) -> int:
        return len(getattr(self.manager, "_options_map", {}) or {})

    def clear(self) -> tuple[int, int]:
        """Clear everything; returns (converters, pipelines) there were."""
        converters, pipelines = self.cached_converters(), self.pipelines()
        for converter in list(self.converters):
            cache = getattr(converter, "initialized_pipelines", None)
            if cache is not None:
                cache.clear()
        self.manager.clear_cache()
        options = getattr(self.manager, "_options_map", None)
        if options is not None:
            options.clear()
        for generation in (0, 1, 2):
            gc.collect(generation)
        return converters, pipelines
