"""What backends share: selector parsing and the transition table over contract Objects.

``transition`` is ``cacheWatcher.convertToWatchEvent``: the event a write makes on a watch
with a filter. Backends may use it (as the reference and the etcd adapter do), or implement
their own; the model checks the result either way.
"""

from __future__ import annotations

from listwatch_conformance.model.selectors import Filter, SelectorError
from listwatch_conformance.sut.api import Event, EventType, ListWatchError, Object


class _FilterView:
    """An Object as listwatch_conformance.model.selectors.Filter reads it."""

    __slots__ = ("namespace", "name", "label_map")

    def __init__(self, obj: Object):
        self.namespace, self.name, self.label_map = obj.namespace, obj.name, obj.labels


def parse_filter(namespace: str | None, label_selector: str, field_selector: str) -> Filter:
    """The filter of a list or watch call; a malformed selector is the caller's ListWatchError."""
    try:
        return Filter(namespace, label_selector, field_selector)
    except SelectorError as exc:
        raise ListWatchError(f"invalid selector: {exc}") from None


def matches(flt: Filter, obj: Object | None) -> bool:
    return obj is not None and flt.matches(_FilterView(obj))


def transition(flt: Filter, rv: int, prev: Object | None, cur: Object | None) -> Event | None:
    """The event a write at ``rv`` from ``prev`` to ``cur`` (None: deleted) makes through ``flt``:
    ADDED(cur) on entry, MODIFIED(cur) on stay, DELETED(prev with the write's RV) on exit."""
    now, before = matches(flt, cur), matches(flt, prev)
    if now:
        return Event(EventType.MODIFIED if before else EventType.ADDED, rv, cur)
    if before:
        return Event(EventType.DELETED, rv, Object(prev.namespace, prev.name, prev.labels, prev.value, rv))
    return None
