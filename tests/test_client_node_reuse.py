"""client-node's adapters share one loaded node process (loading the library costs about 1 s of CPU an
example); each example still gets a fresh informer, and a stopped one makes no request any more."""

import pytest

from listwatch_conformance.sut.clients.adversary import Adversary
from listwatch_conformance.sut.clients.client_node import client_node, unavailable
from listwatch_conformance.sut.kube import wire

if (reason := unavailable()) is not None:
    pytest.skip(reason, allow_module_level=True)

LOAD = 60.0  # the first example loads the library (up to 11 s on CI's two busy cores)


def _list(rv: int, *objects: dict) -> dict:
    return {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": str(rv)},
            "items": list(objects)}


def test_the_next_informer_shares_the_process_and_nothing_else():
    """Example 1's informer lists a/a and watches; it is stopped while its watch is open, and the
    stream then ends cleanly, after which a running informer watches again (cache.js doneHandler). The next
    adapter runs in the same process, starts with an empty view and synced=False, and lists on its own
    server; example 1's server gets no request after the stop."""
    first, second = Adversary(), Adversary()
    first.start()
    second.start()
    a = b = None
    try:
        a = client_node()
        a.start(first.url, "a", "")
        listed = first.next_request(LOAD)
        assert listed is not None and listed.kind == "list", f"no list from the first informer: {a.view()!r}"
        first.reply(listed, 200, _list(5, wire.configmap("a", "a", {}, "0", 5)))
        watch = first.next_request(5.0)
        assert watch is not None and watch.kind == "watch", watch
        stream = first.open_stream(watch)
        view = a.view()
        assert view.synced and set(view.objects) == {("a", "a")}, view
        pid = a._node.proc.pid
        a.stop()
        stream.end()
        late = first.next_request(1.0)  # a running informer reconnects within its 10 ms scaled backoff
        assert late is None, f"the stopped informer still made {late!r}"

        b = client_node()
        b.start(second.url, "a", "")
        assert b._node.proc.pid == pid, "the second adapter started a new node process"
        fresh = b.view()
        assert (fresh.rv, dict(fresh.objects), fresh.synced, fresh.alive) == (None, {}, False, True), fresh
        listed = second.next_request(5.0)
        assert listed is not None and listed.kind == "list", f"no list from the second informer: {b.view()!r}"
        second.reply(listed, 200, _list(3))
        assert second.next_request(5.0).kind == "watch"
        view = b.view()
        assert (view.rv, dict(view.objects), view.synced) == ("3", {}, True), view
        assert first.next_request(0.2) is None, "the stopped informer reached the first server"
    finally:
        first.stop()
        second.stop()
        for adapter in (a, b):
            if adapter is not None:
                adapter.stop()
