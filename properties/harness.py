"""The edge between the backend and the model: calls, conversions, and backend faults.

Everything a backend returns is validated and converted here into the model's values;
anything malformed, and any exception outside the contract's ListWatchError family, is a
:class:`BackendFault` that names the call and the offending value. A fault is the
backend's (or the harness's) trouble, never reported as a broken guarantee.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from listwatch_conformance.model.objects import Ev, Obj
from listwatch_conformance.sut.api import Event, EventType, ListWatchError, Object, Page

T = TypeVar("T")


class BackendFault(Exception):
    """The backend broke the contract's form (not a guarantee): bad value or unexpected exception."""

    def __init__(self, message: str):
        super().__init__(f"BackendFault (not a guarantee violation): {message}")


class BackendHang(BaseException):
    """A backend call that did not return within its deadline.

    A BaseException, not an Exception, on purpose: Hypothesis would otherwise replay and
    shrink the example, and every replay would hang again. The run ends at once instead,
    naming the call.
    """

    def __init__(self, message: str):
        super().__init__(f"BackendHang (not a guarantee violation): {message}")


class _Worker(threading.Thread):
    """A daemon thread running calls from a queue: a call that hangs forever cannot keep
    the interpreter from exiting, as a ThreadPoolExecutor's worker would."""

    def __init__(self, name: str):
        super().__init__(name=name, daemon=True)
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.start()

    def run(self) -> None:
        while (job := self.jobs.get()) is not None:
            future, fn, args, kwargs = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                    future.set_exception(exc)

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        self.jobs.put((future, fn, args, kwargs))
        return future

    def stop(self) -> None:
        self.jobs.put(None)


class BackendCalls:
    """Every call to one backend, made on one worker thread and waited for with a deadline.

    One thread for all of a backend's calls keeps backends that are bound to the thread
    that made them working (the factory runs there too). A call past its deadline raises
    :class:`BackendHang`; the worker is abandoned (a daemon, it dies with the process) and
    every later call fails at once, so teardown cannot hang either.
    """

    def __init__(self, name: str = "backend-calls"):
        self._worker = _Worker(name)
        self.hung: str | None = None

    def __call__(self, what: str, deadline: float, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.hung is not None:
            raise BackendHang(f"{what} not attempted: {self.hung} never returned")
        future = self._worker.submit(call, what, fn, *args, **kwargs)
        try:
            return future.result(timeout=deadline)
        except FutureTimeout:
            self.hung = what
            raise BackendHang(f"{what} did not return within {deadline:.1f}s (the deadline scales with "
                              "--wait-budget)") from None

    def close(self) -> None:
        """Let the worker end once its current call returns (at once, unless hung)."""
        self._worker.stop()


def call_all(what: str, deadline: float, calls: list[Callable[[], T]]) -> list[T]:
    """Run ``calls`` at once, each on its own daemon thread, and wait for all of them until
    ``deadline`` seconds have passed; BackendHang naming the ones still running."""
    workers = [_Worker(f"{what}-{i}") for i in range(len(calls))]
    futures = [w.submit(call, what, fn) for w, fn in zip(workers, calls)]
    for worker in workers:
        worker.stop()
    done, _ = wait_futures(futures, deadline)
    if len(done) < len(futures):
        stuck = [i for i, f in enumerate(futures) if not f.done()]
        raise BackendHang(f"{what}: calls {stuck} did not return within {deadline:.1f}s")
    return [f.result() for f in futures]


def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn``; ListWatchError passes through, any other exception becomes a BackendFault."""
    try:
        return fn(*args, **kwargs)
    except ListWatchError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported, with the call, as the backend's fault
        raise BackendFault(f"{what} raised {type(exc).__name__}: {exc}") from exc


def as_decoded(value: T) -> T:
    """``value`` as a client that decoded it from the wire passes it: equal, and never the very object
    the backend handed out (JSON values: None, bools, ints, strings, lists and dicts of them). A backend
    that compares with ``is`` where it means ``==`` only works when handed its own objects back."""
    return json.loads(json.dumps(value))


def check_rv(what: str, rv: object) -> int:
    if not isinstance(rv, int) or isinstance(rv, bool):
        raise BackendFault(f"{what} returned RV {rv!r}; RVs are int")
    return rv


def to_obj(what: str, obj: object) -> Obj:
    if not isinstance(obj, Object):
        raise BackendFault(f"{what} returned {obj!r} where a listwatch_conformance.sut.api.Object belongs")
    check_rv(what, obj.rv)
    try:
        return Obj(obj.namespace, obj.name, dict(obj.labels), obj.value, obj.rv)
    except (TypeError, ValueError, AttributeError) as exc:
        raise BackendFault(f"{what} returned a malformed object {obj!r}: {exc}") from None


def to_event(what: str, ev: object) -> Ev:
    if not isinstance(ev, Event) or not isinstance(ev.type, EventType):
        raise BackendFault(f"{what} returned {ev!r}, not a listwatch_conformance.sut.api.Event or None")
    rv = check_rv(what, ev.rv)
    if ev.type is EventType.BOOKMARK:
        return Ev(ev.type.value, rv, None, bool(ev.initial_events_end))
    if ev.object is None:
        raise BackendFault(f"{what} returned {ev.type.value} without an object: {ev!r}")
    return Ev(ev.type.value, rv, to_obj(what, ev.object))


def to_page(what: str, page: object) -> tuple[int, tuple[Obj, ...], str | None]:
    if not isinstance(page, Page):
        raise BackendFault(f"{what} returned {page!r}, not a listwatch_conformance.sut.api.Page")
    token = page.continue_token
    if token is not None and not isinstance(token, str):
        raise BackendFault(f"{what} returned continue token {token!r}; tokens are str or None")
    return check_rv(what, page.rv), tuple(to_obj(what, o) for o in page.items), token or None
