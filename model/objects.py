"""Values the model reasons about: objects, keys and observed events."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

Key = tuple[str, str]  # (namespace, name)

ADDED, MODIFIED, DELETED, BOOKMARK = "ADDED", "MODIFIED", "DELETED", "BOOKMARK"


def _sorted_labels(labels: Mapping[str, str] | tuple) -> tuple[tuple[str, str], ...]:
    items = labels.items() if isinstance(labels, Mapping) else labels
    return tuple(sorted((str(k), str(v)) for k, v in items))


@attrs.frozen
class Obj:
    """The state of one object as produced by the write at ``rv``."""

    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...] = attrs.field(converter=_sorted_labels)
    value: str
    rv: int

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def with_rv(self, rv: int) -> Obj:
        return attrs.evolve(self, rv=rv)

    def __repr__(self) -> str:
        labels = ",".join(f"{k}={v}" for k, v in self.labels)
        return f"{self.namespace}/{self.name}{{{labels}}}={self.value!r}@{self.rv}"


@attrs.frozen
class Ev:
    """An event as the model sees it: ``type`` is one of ADDED, MODIFIED, DELETED, BOOKMARK."""

    type: str
    rv: int
    obj: Obj | None = None
    initial_events_end: bool = False

    def __repr__(self) -> str:
        if self.type == BOOKMARK:
            end = " initial-events-end" if self.initial_events_end else ""
            return f"BOOKMARK@{self.rv}{end}"
        at = "" if self.obj is not None and self.obj.rv == self.rv else f" (event rv {self.rv})"
        return f"{self.type} {self.obj!r}{at}"
