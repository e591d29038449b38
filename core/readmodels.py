"""The registry of read models: summary tables kept up to date by the services that write
the rows they summarise, and rebuilt from those rows by ``rebuild_read_models``.

Each app that owns a read model registers how to rebuild it (in its AppConfig.ready), so
the command, the tests and the demo seed rebuild every one without knowing the apps.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

Rebuild = Callable[[], int]  # rebuilds from the raw tables; returns the rows written
# Pauses the model's upkeep row by row during a bulk load and rebuilds it once at the end.
BulkLoad = Callable[[], AbstractContextManager[None]]

_REBUILDERS: dict[str, Rebuild] = {}
_BULK_LOADS: dict[str, BulkLoad] = {}


def register(name: str, rebuild: Rebuild, bulk_load: BulkLoad | None = None) -> None:
    _REBUILDERS[name] = rebuild
    if bulk_load is not None:
        _BULK_LOADS[name] = bulk_load


@contextlib.contextmanager
def bulk_loading() -> Iterator[None]:
    """Around a load of many rows (the demo seed): read models that can pause their upkeep
    do so and are rebuilt once at the end, instead of being updated once per row."""
    with contextlib.ExitStack() as stack:
        for name in sorted(_BULK_LOADS):
            stack.enter_context(_BULK_LOADS[name]())
        yield


def names() -> list[str]:
    return sorted(_REBUILDERS)


def rebuild(only: list[str] | None = None) -> dict[str, int]:
    """Rebuild the named read models (all by default); rows written per model."""
    chosen = only or names()
    unknown = sorted(set(chosen) - set(_REBUILDERS))
    if unknown:
        raise KeyError(f"No such read model: {', '.join(unknown)} (known: {', '.join(names())})")
    return {name: _REBUILDERS[name]() for name in chosen}
