"""Standalone reproductions of the kopf findings (docs/findings/kopf-*.md), without the state machine.

    python docs/findings/kopf_repro.py http-410 | in-stream-500 | relist-keeps-deleted | initial-streaming-cut

A scripted server (the suite's lockstep adversary: it answers each request only when this script
says so) plays what a real apiserver legally does; kopf's ``infinite_watch`` runs as an operator's
watcher does, and every raw event it yields is printed. Needs ``pip install -e .[clients]``.
"""

import asyncio
import sys
import threading

import kopf
from kopf._cogs.clients import auth, watching
from kopf._cogs.structs import credentials, references

from listwatch_conformance.sut.clients.adversary import Adversary
from listwatch_conformance.sut.kube import wire


def cm(name: str, rv: int) -> dict:
    return wire.configmap("a", name, {}, "0", rv)


def listing(rv: int, *items: dict) -> dict:
    return {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": str(rv)}, "items": list(items)}


def event(kind: str, obj: dict) -> bytes:
    return wire.json_line({"type": kind, "object": obj})


def serve(adv: Adversary, scenario: str) -> None:
    def request():
        r = adv.next_request(10)
        print("server got:", r)
        return r

    if scenario == "http-410":  # list at 1; the watch from 1 is below the compaction: HTTP 410
        adv.reply(request(), 200, listing(1))
        adv.reply(request(), 410, wire.status(410, "Expired", "too old resource version: 1 (2)"))
    elif scenario == "in-stream-500":  # an etcd hiccup ends the watch with an in-stream 500
        adv.reply(request(), 200, listing(1))
        stream = adv.open_stream(request())
        stream.send(wire.error_line(wire.status(500, "InternalError", "etcdserver: leader changed")))
        stream.end()
    elif scenario == "relist-keeps-deleted":  # a deleted at RV 3, the watch expires before its DELETED
        adv.reply(request(), 200, listing(2, cm("a", 2)))
        stream = adv.open_stream(request())
        stream.send(wire.error_line(wire.status(410, "Expired", "too old resource version: 2 (3)")))
        stream.end()
        adv.reply(request(), 200, listing(3))  # the relist: a is gone
        adv.open_stream(request())
    elif scenario == "initial-streaming-cut":  # a@2 and b@3; b is streamed first, then the stream ends
        stream = adv.open_stream(request())
        stream.send(event("ADDED", cm("b", 3)))
        stream.end()
        request()  # a plain watch from 3: a (RV 2) will never be sent
    print("server: done")


async def watch(url: str, scenario: str) -> None:
    vault = credentials.Vault()
    await vault.populate({"adversary": credentials.ConnectionInfo(server=url)})
    auth.vault_var.set(vault)
    settings = kopf.OperatorSettings()
    settings.watching.initial_streaming = scenario == "initial-streaming-cut"
    configmaps = references.Resource(group="", version="v1", plural="configmaps", namespaced=True)
    try:
        async for raw in watching.infinite_watch(settings=settings, resource=configmaps, namespace=None):
            print("kopf yields:", raw if raw is watching.Bookmark.LISTED else
                  (raw["type"], raw["object"]["metadata"]["name"]))
    finally:
        await vault.close()


def main(scenario: str) -> None:
    adv = Adversary()
    url = adv.start()
    server = threading.Thread(target=serve, args=(adv, scenario), daemon=True)
    server.start()
    try:
        asyncio.run(asyncio.wait_for(watch(url, scenario), 5))
    except TimeoutError:
        print("kopf is still watching after 5 s (the end of the scenario)")
    except Exception as exc:  # noqa: BLE001 - the finding: what ends kopf's watcher
        print(f"infinite_watch raised {type(exc).__name__}: {exc}")
    finally:
        adv.stop()
        server.join(5)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http-410")
