"""kr8s 0.20.15: after an in-stream 410 Expired, Api.watch watches again from the same, expired RV.

Starts the suite's lockstep adversary (an apiserver speaking the ConfigMap API on 127.0.0.1), runs
kr8s's documented watch in a thread, answers its watch from RV 5 with ERROR 410 and prints the next
request kr8s makes. Run: python docs/findings/repro/kr8s_rewatch_expired_rv.py
"""
import asyncio
import threading

import kr8s
import kr8s.asyncio
from kr8s.asyncio.objects import ConfigMap

from listwatch_conformance.sut.clients.adversary import Adversary
from listwatch_conformance.sut.kube import wire

adversary = Adversary()
url = adversary.start()


async def user():
    api = await kr8s.asyncio.api(url=url)
    try:
        async for event_type, cm in api.watch(ConfigMap, namespace="a", since="5"):
            print("event", event_type, cm.name)
    except kr8s.ServerError:  # the adversary answers 503 once it stops
        pass

threading.Thread(target=asyncio.run, args=(user(),), daemon=True).start()
try:
    watch = adversary.next_request(10)
    print("1st:", watch)
    stream = adversary.open_stream(watch)
    stream.send(wire.error_line(wire.status(410, "Expired", "too old resource version: 5 (6)")))
    stream.end()
    again = adversary.next_request(10)
    print("2nd:", again, "<- the RV the server just said is gone" if again and again.rv == "5" else "")
finally:
    adversary.stop()
