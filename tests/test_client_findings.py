"""Deviations the client suite found in the official ``kubernetes`` Python client and in kubectl (the
client-go anchor), kept as strict xfails: each replays the shrunk program (or the persistent fault)
that shows it, names the library version and the guarantee, and starts passing (failing the suite)
once the library is fixed.

Predicted in REFERENCE-clients.md section 3; see docs/clients.md for the table.
"""

import logging

import pytest

from listwatch_conformance.model.client_guarantees import VIOLATIONS, ClientGuarantee as CG
from listwatch_conformance.properties.client_machine import client_machine
from listwatch_conformance.properties.client_retries import bounded_retries
from listwatch_conformance.sut.clients.kubectl import (kubectl_path, kubectl_version, kubectl_wait,
                                                      kubectl_wait_watch_list)

kubernetes = pytest.importorskip("kubernetes", reason="the clients extra is not installed (pip install -e .[clients])")
from listwatch_conformance.sut.clients.official import shared_informer, watch_stream  # noqa: E402

VERSION = kubernetes.__version__
NoRetryAtExpiredRV = VIOLATIONS[CG.NoRetryAtExpiredRV]
BoundedRetries = VIOLATIONS[CG.BoundedRetries]


@pytest.fixture(autouse=True)
def _quiet_library_logs():
    logging.getLogger("kubernetes").setLevel(logging.CRITICAL)
    yield
    logging.getLogger("kubernetes").setLevel(logging.NOTSET)


def _expired_stream_program(factory) -> None:
    """The shrunk program: list, watch, a write, then the stream expires with an in-stream 410."""
    state = client_machine(factory)()
    try:
        state.start(namespace=None, objects=[])  # client: list
        state.respond(stale=0, order="ascending")  # list at RV 1; client: watch from 1
        state.write(namespace="a", name="a", value="0")
        state.respond(stale=0, order="ascending")  # the watch opens at RV 1
        state.expire_stream()  # compaction past 1: ERROR 410 Expired, then the end
    finally:
        state.teardown()  # raises the first violation seen


@pytest.mark.xfail(strict=True, raises=NoRetryAtExpiredRV,
                   reason=f"D13, kubernetes {VERSION}: Watch.stream retries an in-stream 410 once at the same "
                          "RV (watch.py: retry_after_410) before raising")
def test_watch_stream_retries_the_expired_rv():
    _expired_stream_program(watch_stream)


@pytest.mark.xfail(strict=True, raises=NoRetryAtExpiredRV,
                   reason=f"D13, kubernetes {VERSION}: SharedInformer watches through Watch.stream, which "
                          "retries an in-stream 410 once at the same RV")
def test_shared_informer_retries_the_expired_rv():
    _expired_stream_program(shared_informer)


@pytest.mark.parametrize("factory", [watch_stream, shared_informer], ids=["watch-stream", "shared-informer"])
@pytest.mark.xfail(strict=True, raises=BoundedRetries,
                   reason=f"D3, kubernetes {VERSION}: Watch.stream reconnects at once when the server ends "
                          "the watch (watch.py: no sleep), so does the informer built on it")
def test_hot_loop_when_watches_close_at_once(factory):
    violation = bounded_retries(factory, "watch-closes")
    if violation is not None:
        raise violation


@pytest.mark.xfail(strict=True, raises=BoundedRetries,
                   reason=f"D2, kubernetes {VERSION}: SharedInformer reconnects at once after a failed watch "
                          "request (informer.py: no wait outside the list path)")
def test_shared_informer_hot_loop_on_watch_errors():
    violation = bounded_retries(shared_informer, "watch-500")
    if violation is not None:
        raise violation


def test_shared_informer_waits_after_a_failed_list():
    """D2 does not reach lists: with every request failing, the 5 s wait after a failed list holds."""
    assert bounded_retries(shared_informer, "error-500") is None


# --- kubectl (client-go), the anchor: request-level guarantees only (its view is not observable) ---

KUBECTL = kubectl_version()
TooLargeFallsBack = VIOLATIONS[CG.TooLargeFallsBack]


@pytest.mark.skipif(kubectl_path() is None, reason="kubectl is not installed (Debian package kubectl)")
@pytest.mark.xfail(strict=True, raises=TooLargeFallsBack,
                   reason=f"kubectl {KUBECTL}: a 504 'Too large resource version' carries Retry-After: 1, as "
                          "kube-apiserver sends it (responsewriters ErrorNegotiated copies retryAfterSeconds); "
                          "client-go's rest client re-sends the same list at the same RV after 1 s (rest/request.go "
                          "checkWait: 429 and 5xx with Retry-After, up to 10 times) before the Reflector sees the "
                          "error and lists with RV unset")
def test_kubectl_wait_lists_again_at_the_too_large_rv():
    state = client_machine(kubectl_wait)()
    try:
        state.start(namespace="a", objects=[("a", "a", "0")])  # client: GET configmaps/a
        state.respond(stale=0, order="ascending")  # the object; client: list at RV "0"
        state.respond(stale=0, order="ascending")  # list at RV 2; client: watch from 2
        state.respond(stale=0, order="ascending")  # the watch opens at RV 2
        state.end_stream(how="internal-error")  # in-stream 500: backoff, then a list at RV 2
        state.too_large()  # 504 with Retry-After: 1; client: the same list at RV 2, a second later
    finally:
        state.teardown()  # raises the first violation seen


@pytest.mark.skipif(kubectl_path() is None, reason="kubectl is not installed (Debian package kubectl)")
@pytest.mark.xfail(strict=True, raises=TooLargeFallsBack,
                   reason=f"kubectl {KUBECTL} with KUBE_FEATURE_WatchListClient=true: the same rest-client retry "
                          "of a 504 with Retry-After, for the streaming list restarted at the last synced RV")
def test_kubectl_wait_watch_list_streams_again_at_the_too_large_rv():
    state = client_machine(kubectl_wait_watch_list)()
    try:
        state.start(namespace="a", objects=[("a", "a", "0")])  # client: GET configmaps/a
        state.respond(stale=0, order="ascending")  # the object; client: a streaming list (RV unset)
        state.respond(stale=0, order="ascending")  # it opens at RV 2
        state.send_events(count=2)  # ADDED a/a, then the initial-events-end bookmark at RV 2
        state.end_stream(how="internal-error")  # in-stream 500: backoff, then a streaming list at RV 2
        state.too_large()  # 504 with Retry-After: 1; client: the same streaming list at RV 2, a second later
    finally:
        state.teardown()  # raises the first violation seen


@pytest.mark.skipif(not KUBECTL.startswith("v1.20."),
                    reason="needs Debian's kubectl 1.20 as $LISTWATCH_KUBECTL (apt-get download kubernetes-client, "
                           "dpkg-deb -x; see docs/clients.md)")
@pytest.mark.parametrize("fault", ["watch-closes", "watch-410"])
@pytest.mark.xfail(strict=True, raises=BoundedRetries,
                   reason=f"kubectl {KUBECTL}: `kubectl wait` (a list and a watch, not a Reflector) lists and watches "
                          "again at once whenever its watch ends, with no backoff: 66 requests in 5 s")
def test_kubectl_1_20_wait_hot_loop_when_watches_end(fault):
    violation = bounded_retries(kubectl_wait, fault)
    if violation is not None:
        raise violation
