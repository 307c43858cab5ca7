"""BoundedRetries: under a persistent fault a client makes at most 25 requests in 5 s.

Measured apart from the state machine (a hot loop is a rate, not a program), once per fault:

- ``watch-closes``: lists are answered honestly; every watch opens and ends at once with nothing sent;
- ``error-500``: every list and watch gets HTTP 500 InternalError;
- ``watch-410``: lists are answered honestly; every watch gets 200 and an in-stream ERROR 410 Expired
  (a watch from a state, RV "" or "0", first gets that state: an empty one, with its end bookmark
  for a streaming list; a 410 before it would be one no apiserver sends);
- ``watch-500``: lists are answered honestly; every watch gets HTTP 500 (not in CLIENTS.md's list:
  a client that waits after a failed list but not after a failed watch hides behind ``error-500``).

A GET of one ConfigMap (kubectl wait reads its object before it list-watches) is answered honestly
under every fault: it is not part of list-watch, and failing it would end the client before its loop.

The window opens at the client's first request (a client that takes seconds to load is not given a
shorter window). The window and the budget are CLIENTS.md's (client-go makes about 5 requests; a
constant 200 ms retry makes 25). A client adapter whose factory is sized for the state machine (a shortened backoff, as
``reflector``) names its production configuration as the factory's ``production`` attribute; this
check uses that one, since a rate is only meaningful with the backoff users get.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from listwatch_conformance.model.client_guarantees import ClientGuarantee as CG
from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.properties.harness import BackendHang, call_all
from listwatch_conformance.sut.api import Event, EventType
from listwatch_conformance.sut.clients.adversary import Adversary
from listwatch_conformance.sut.kube import wire

FAULTS = ("watch-closes", "error-500", "watch-410", "watch-500")
WINDOW = 5.0
BUDGET = 25
STARTUP = 60.0  # how long a client may take to make its first request


def _list(rv: int) -> dict:
    return {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": str(rv)},
            "items": [wire.configmap("a", "a", {}, "0", rv)]}


def bounded_retries(factory: Callable[[], object], fault: str, window: float = WINDOW,
                    budget: int = BUDGET) -> Violation | None:
    """Run ``fault`` against a fresh client for ``window`` seconds: the violation, or None."""
    make = getattr(factory, "production", factory)
    adversary = Adversary()
    url = adversary.start()
    client = None
    try:
        client = make()
        client.start(url, "a", "")
        # the window opens at the client's first request: a client that takes seconds to load (kopf's
        # imports, a node process) would otherwise have its window shortened by its own start-up
        request = adversary.next_request(STARTUP)
        if request is None:
            return None  # no request at all: nothing to bound (the state machine's StaysAlive judges that)
        started = request.time
        end = started + window
        rv = 10
        while True:
            rv += 1  # other resources keep writing: every answer is at a new RV
            if request.kind == "get":  # a read of one object (kubectl wait's first) is not list-watch: honest
                adversary.reply(request, 200, wire.configmap(request.namespace, request.name, {}, "0", rv))
            elif fault == "error-500":
                adversary.reply(request, 500, wire.status(500, "InternalError", "persistent fault"))
            elif request.kind == "list":
                adversary.reply(request, 200, _list(rv))
            elif fault == "watch-500":
                adversary.reply(request, 500, wire.status(500, "InternalError", "persistent fault"))
            else:
                stream = adversary.open_stream(request)
                if fault == "watch-410":
                    # 410 is legal only for a watch from an RV: one from a state (RV "" or "0", a streaming
                    # list) first gets that state, here empty (its end bookmark when it is a streaming list),
                    # and is then expired, as a watch that fell behind a compaction is
                    if request.rv in ("", "0") and request.send_initial_events:
                        stream.send(wire.event_line(Event(EventType.BOOKMARK, rv, initial_events_end=True)))
                    stream.send(wire.error_line(wire.status(410, "Expired", f"too old resource version: {request.rv}")))
                stream.end()
            remaining = end - time.monotonic()
            request = adversary.next_request(remaining) if remaining > 0 else None
            if request is None:
                break
        made = [r for r in adversary.requests if r.is_collection and r.time - started <= window]
        if len(made) > budget:
            shown = [f"{r.time - started:.3f}s {r!r}" for r in made[:8]]
            return Violation(CG.BoundedRetries, f"persistent fault {fault!r}",
                             f"{len(made)} requests in {window:.0f} s (budget {budget})",
                             expected=f"at most {budget} requests in {window:.0f} s",
                             observed=f"{len(made)} requests, the first: {shown}")
        return None
    finally:
        try:
            if client is not None:
                try:
                    call_all("client stop()", 5.0, [client.stop])
                except BackendHang as hang:
                    raise BackendHang(f"client stop() did not return within 5 s ({hang})") from None
        finally:
            adversary.stop()
