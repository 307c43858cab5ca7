"""kubernetes_asyncio 36.1.0: a watch line that is not JSON (here a blank line) is yielded as a str.

Starts the suite's lockstep adversary, runs the documented ``watch.Watch().stream`` loop, sends one
blank line and one event on the watch, and prints what the user's loop receives.
Run: python docs/findings/repro/kubernetes_asyncio_str_event.py
"""
import asyncio
import threading

from kubernetes_asyncio import client, watch

from listwatch_conformance.sut.api import Object
from listwatch_conformance.sut.clients.adversary import Adversary
from listwatch_conformance.sut.kube import wire

adversary = Adversary()
url = adversary.start()


async def user():
    configuration = client.Configuration()
    configuration.host = url
    async with client.ApiClient(configuration) as api:
        v1 = client.CoreV1Api(api)
        async with watch.Watch() as w:
            async for event in w.stream(v1.list_namespaced_config_map, "a", resource_version="5"):
                print("the user gets:", repr(event)[:80])
                try:
                    event["type"]  # the docstring's usage
                except TypeError as exc:
                    print("the user's event['type'] raises", repr(exc))
                    return

threading.Thread(target=asyncio.run, args=(user(),), daemon=True).start()
try:
    stream = adversary.open_stream(adversary.next_request(10))
    stream.send(b"\n")
    stream.send(wire.json_line({"type": "ADDED", "object": wire.object_to_configmap(Object("a", "a", {}, "0", 6))}))
    stream.flushed(2)
    threading.Event().wait(1)  # let the user's loop take both lines
finally:
    adversary.stop()
