"""Adapter for ``kubernetes_asyncio`` (optional extra ``clients``): ``watch.Watch().stream``
folded into a dict by the user code its documentation shows.

The documentation followed: ``Watch.stream``'s docstring and ``examples/example2.py``
(``async for event in watch.Watch().stream(v1.list_..., ...)``, reading ``event['type']`` and
``event['object']``), with the list-then-watch and 410 handling that the official client's
``Watch.stream`` documents and this library ports: list first, stream from the list's RV, on an
``ApiException`` with status 410 list again ("re-list"), on any other error the library raises
(``ApiException``, aiohttp's ``ClientError``, a timeout) stream again from
``Watch.resource_version``. No bookmarks, no sleep: the documented loop has none.

An exception the library does not document for a watch (a ``str`` event reaching ``event['type']``
raises ``TypeError``) is not caught: it ends the user's loop, as it would in the documented code,
and the suite sees it in ``view().error``. The claimed RV is the one the user last got (the list's,
then ``Watch.resource_version`` after each event).
"""

from __future__ import annotations

import asyncio

import aiohttp
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from listwatch_conformance.sut.clients.aio import CLUSTER_CA, FoldingAdapter, configmap_object
from listwatch_conformance.sut.clients.api import ClientCapabilities


class WatchStreamAdapter(FoldingAdapter):
    """kubernetes_asyncio.watch.Watch.stream, folded into a dict by the documented user loop."""

    name = "kubernetes_asyncio Watch.stream (user fold)"
    distribution = "kubernetes_asyncio"
    capabilities = ClientCapabilities(cache=False, lists=True, bookmarks=False, watch_list=False,
                                      user_restarts=True, max_backoff=0.0)

    async def _main(self, url: str, namespace: str | None, label_selector: str) -> None:
        configuration = client.Configuration()
        configuration.host = url
        configuration.ssl_ca_cert = CLUSTER_CA  # as load_kube_config sets it from the kubeconfig's CA
        # the default configuration, as load_kube_config makes it: each watch.Watch() builds an
        # ApiClient from it (for deserialising), and with it one SSL context
        client.Configuration.set_default(configuration)
        kwargs = {"namespace": namespace} if namespace else {}
        if label_selector:
            kwargs["label_selector"] = label_selector
        async with client.ApiClient(configuration) as api:
            v1 = client.CoreV1Api(api)
            list_func = v1.list_namespaced_config_map if namespace else v1.list_config_map_for_all_namespaces
            rv = None
            while True:
                w = watch.Watch()
                try:
                    if rv is None:  # list first, then watch from the list's RV
                        listed = await list_func(**kwargs)
                        rv = listed.metadata.resource_version
                        self.fold.replace((configmap_object(api.sanitize_for_serialization(cm))
                                            for cm in listed.items or []), rv)
                    async for event in w.stream(list_func, resource_version=rv, **kwargs):
                        obj = configmap_object(event["raw_object"])
                        self.fold.apply(event["type"], obj, w.resource_version)
                    rv = w.resource_version or rv
                except ApiException as exc:
                    rv = None if exc.status == 410 else (w.resource_version or rv)  # 410: re-list
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    rv = w.resource_version or rv
                finally:
                    await w.close()


def watch_stream() -> WatchStreamAdapter:
    return WatchStreamAdapter()
