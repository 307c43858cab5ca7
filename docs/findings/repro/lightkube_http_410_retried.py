"""lightkube 1.0.1: with on_error_retry, an HTTP 410 on a watch is retried at the same, expired RV.

Starts the suite's lockstep adversary, runs lightkube's documented list-watch pattern with
``on_error=on_error_retry``, answers the list at RV 5, the watch from 5 with HTTP 410 Expired, and
prints the next three requests. Run: python docs/findings/repro/lightkube_http_410_retried.py
"""
import asyncio
import threading

from lightkube import AsyncClient, KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.resources.core_v1 import ConfigMap
from lightkube.types import on_error_retry

from listwatch_conformance.sut.clients.adversary import Adversary
from listwatch_conformance.sut.kube import wire

adversary = Adversary()
url = adversary.start()


async def user():
    client = AsyncClient(KubeConfig.from_one(cluster=Cluster(server=url), user=User()))
    listed = client.list(ConfigMap, namespace="a")
    _ = [cm async for cm in listed]
    try:
        async for event_type, cm in client.watch(ConfigMap, namespace="a", resource_version=listed.resourceVersion,
                                                 on_error=on_error_retry):
            print("event", event_type, cm.metadata.name)
    finally:
        await client.close()

threading.Thread(target=asyncio.run, args=(user(),), daemon=True).start()
try:
    listing = adversary.next_request(10)
    adversary.reply(listing, 200, {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": "5"},
                                   "items": []})
    for attempt in range(3):
        watch = adversary.next_request(10)
        print(f"watch {attempt + 1}:", watch)
        adversary.reply(watch, 410, wire.status(410, "Expired", "too old resource version: 5 (6)"))
finally:
    adversary.stop()
