"""Adapter for ``kr8s`` (optional extra ``clients``): ``api.watch`` folded into a dict by the user
code its documentation shows.

The documentation followed: ``kr8s.asyncio.api`` (``api = await kr8s.asyncio.api(url=...)``) and
``Api.watch(kind, namespace=..., label_selector=..., since=...)``, which yields ``(event_type,
object)`` pairs (the README's and docs' ``for event, obj in kr8s.watch(...)``). The kind is passed as
the class ``ConfigMap``, which skips discovery (``async_get_kind``). kr8s has no informer and its
``get`` does not expose the list's RV, so the user watches only: the first watch has no RV (the
server sends the current state as ADDED events), and when the generator ends (the server closed the
stream) the user watches again ``since`` the RV of the last object it got, which is what ``since``
is for. On an error the library raises for a request (its ``ServerError``, ``APITimeoutError``,
``ConnectionClosedError``, or httpx's ``HTTPError`` from the transport) the user does the same. No
sleep: the documentation shows none.

An exception kr8s does not document (a ``JSONDecodeError`` from a truncated line, a ``BoxKeyError``
from an ERROR event decoded as a ConfigMap) is not caught: it ends the user's loop, and the suite
sees it in ``view().error``. The claimed RV is the RV of the last object the user got; ``synced``
stays False, since a kr8s user has no list and no moment at which the initial ADDED events are known
to be complete (no bookmarks, no ``sendInitialEvents``).
"""

from __future__ import annotations

import httpx
import kr8s
import kr8s.asyncio
from kr8s.asyncio.objects import ConfigMap

from listwatch_conformance.sut.clients.aio import FoldingAdapter, configmap_object
from listwatch_conformance.sut.clients.api import ClientCapabilities


class WatchAdapter(FoldingAdapter):
    """kr8s ``Api.watch``, folded into a dict by the user, restarted ``since`` the last RV."""

    name = "kr8s Api.watch (user fold)"
    distribution = "kr8s"
    capabilities = ClientCapabilities(cache=False, lists=False, bookmarks=False, watch_list=False,
                                      user_restarts=True, max_backoff=0.0)

    async def _main(self, url: str, namespace: str | None, label_selector: str) -> None:
        api = await kr8s.asyncio.api(url=url)
        try:
            since = None
            while True:
                try:
                    async for event_type, obj in api.watch(ConfigMap, namespace=namespace or kr8s.ALL,
                                                           label_selector=label_selector or None, since=since):
                        since = obj.metadata.resourceVersion
                        self.fold.apply(event_type, configmap_object(obj.raw), since)
                except (kr8s.ServerError, kr8s.APITimeoutError, kr8s.ConnectionClosedError, httpx.HTTPError):
                    pass  # watch again since the last RV
        finally:
            if api._session is not None:  # kr8s has no public close; its httpx session holds the sockets
                await api._session.aclose()


def watch() -> WatchAdapter:
    return WatchAdapter()
