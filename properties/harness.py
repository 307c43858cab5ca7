"""The edge between the backend and the model: calls, conversions, and backend faults.

Everything a backend returns is validated and converted here into the model's values;
anything malformed, and any exception outside the contract's ListWatchError family, is a
:class:`BackendFault` that names the call and the offending value. A fault is the
backend's (or the harness's) trouble, never reported as a broken guarantee.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from model.objects import Ev, Obj
from sut.api import Event, EventType, ListWatchError, Object, Page

T = TypeVar("T")


class BackendFault(Exception):
    """The backend broke the contract's form (not a guarantee): bad value or unexpected exception."""

    def __init__(self, message: str):
        super().__init__(f"BackendFault (not a guarantee violation): {message}")


def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn``; ListWatchError passes through, any other exception becomes a BackendFault."""
    try:
        return fn(*args, **kwargs)
    except ListWatchError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported, with the call, as the backend's fault
        raise BackendFault(f"{what} raised {type(exc).__name__}: {exc}") from exc


def check_rv(what: str, rv: object) -> int:
    if not isinstance(rv, int) or isinstance(rv, bool):
        raise BackendFault(f"{what} returned RV {rv!r}; RVs are int")
    return rv


def to_obj(what: str, obj: object) -> Obj:
    if not isinstance(obj, Object):
        raise BackendFault(f"{what} returned {obj!r} where a sut.api.Object belongs")
    check_rv(what, obj.rv)
    try:
        return Obj(obj.namespace, obj.name, dict(obj.labels), obj.value, obj.rv)
    except (TypeError, ValueError, AttributeError) as exc:
        raise BackendFault(f"{what} returned a malformed object {obj!r}: {exc}") from None


def to_event(what: str, ev: object) -> Ev:
    if not isinstance(ev, Event) or not isinstance(ev.type, EventType):
        raise BackendFault(f"{what} returned {ev!r}, not a sut.api.Event or None")
    rv = check_rv(what, ev.rv)
    if ev.type is EventType.BOOKMARK:
        return Ev(ev.type.value, rv, None, bool(ev.initial_events_end))
    if ev.object is None:
        raise BackendFault(f"{what} returned {ev.type.value} without an object: {ev!r}")
    return Ev(ev.type.value, rv, to_obj(what, ev.object))


def to_page(what: str, page: object) -> tuple[int, tuple[Obj, ...], str | None]:
    if not isinstance(page, Page):
        raise BackendFault(f"{what} returned {page!r}, not a sut.api.Page")
    token = page.continue_token
    if token is not None and not isinstance(token, str):
        raise BackendFault(f"{what} returned continue token {token!r}; tokens are str or None")
    return check_rv(what, page.rv), tuple(to_obj(what, o) for o in page.items), token or None
