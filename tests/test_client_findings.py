"""Deviations the client suite found in the official ``kubernetes`` Python client, kept as strict
xfails: each replays the shrunk program (or the persistent fault) that shows it, names the library
version and the guarantee, and starts passing (failing the suite) once the library is fixed.

Predicted in REFERENCE-clients.md section 3; see docs/clients.md for the table.
"""

import contextlib
import logging

import pytest

from listwatch_conformance.model.client_guarantees import VIOLATIONS, ClientGuarantee as CG
from listwatch_conformance.properties.client_machine import client_machine
from listwatch_conformance.properties.client_retries import bounded_retries

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


# --- kopf's watching loop (sut/clients/kopf_watching.py) ------------------------------------------
# D3, D5, D6, D7, D8 of REFERENCE-clients.md; docs/findings/kopf-*.md are the upstream reports.

def _kopf():
    from listwatch_conformance.sut.clients import kopf_watching
    return kopf_watching


try:
    from importlib.metadata import version as _dist_version
    KOPF = _dist_version("kopf")
except Exception:  # noqa: BLE001 - not installed: the kopf tests skip
    KOPF = None
needs_kopf = pytest.mark.skipif(KOPF is None, reason="kopf is not installed (pip install -e .[clients], Python >= 3.11)")
StaysAlive = VIOLATIONS[CG.StaysAlive]
RobustFraming = VIOLATIONS[CG.RobustFraming]
ViewAtRV = VIOLATIONS[CG.ViewAtRV]
WatchListSync = VIOLATIONS[CG.WatchListSync]


@contextlib.contextmanager
def _program(factory):
    """A client machine for a hand-replayed program; teardown raises the first violation seen."""
    state = client_machine(factory)()
    try:
        yield state
    finally:
        state.teardown()


def _raise_bounded_retries(factory, fault: str) -> None:
    violation = bounded_retries(factory, fault)
    if violation is not None:
        raise violation


def _listed_and_watching(state, objects=()) -> None:
    """kopf lists (RV-less), then watches from the list's RV."""
    state.start(namespace=None, objects=list(objects))  # client: list
    state.respond(stale=0, order="ascending")  # the list; client: watch from its RV


@needs_kopf
@pytest.mark.xfail(strict=True, raises=StaysAlive,
                   reason=f"D7, kopf {KOPF}: an HTTP 410 on the watch request raises APIClientError out of "
                          "infinite_watch (watching.py L86-92 catches only APITooManyRequestsError); the watcher ends")
def test_kopf_http_410_ends_the_watcher():
    """The shrunk program: list, watch from 1, another resource writes (RV 2), compaction past 1:
    the watch request gets HTTP 410.

    kopf restarts the stream only on an in-stream ERROR 410 (``continuous_watch``, watching.py
    L205-211). An HTTP-level 410 is raised by ``errors.check_response`` (errors.py L157-190) as
    ``APIClientError`` from ``api.request`` and is not retried there (api.py L100-125 retries
    connection errors, 5xx, 403 and 429 only); ``infinite_watch`` catches only
    ``APITooManyRequestsError`` (watching.py L86-92), so the exception ends the watcher task,
    which the orchestrator logs as failed and does not respawn (orchestration.py L274: only
    missing keys are spawned). An aggregated apiserver, or a watch cache answering a request below
    its window, sends exactly this HTTP 410.
    """
    with _program(_kopf().kopf_watch) as state:
        _listed_and_watching(state)
        state.other_resource_write()
        state.expire_request(in_stream=False)  # HTTP 410 Expired for the watch from RV 1


@needs_kopf
@pytest.mark.xfail(strict=True, raises=RobustFraming,
                   reason=f"D7, kopf {KOPF}: an in-stream ERROR other than 410 raises WatchingError "
                          "(watching.py L213-215) out of infinite_watch; the watcher ends")
def test_kopf_in_stream_internal_error_ends_the_watcher():
    """The shrunk program: list, watch, the stream sends ERROR 500 InternalError and ends.

    ``continuous_watch`` raises ``WatchingError`` for every ERROR event but 410 (watching.py
    L213-215, "Other watch errors should be fatal for the operator"); ``infinite_watch`` does not
    catch it (L86-92). The apiserver sends an in-stream 500 when etcd's watch fails (for example
    "etcdserver: leader changed"), a transient condition client-go re-watches after.
    """
    with _program(_kopf().kopf_watch) as state:
        _listed_and_watching(state)
        state.respond(stale=0, order="ascending")  # the watch opens
        state.end_stream(how="internal-error")


@needs_kopf
@pytest.mark.xfail(strict=True, raises=ViewAtRV,
                   reason=f"D8, kopf {KOPF}: after a 410 kopf relists as type=None events and LISTED, with no "
                          "diff: an object deleted in the 410 gap stays in what the consumer (kopf.index) holds")
def test_kopf_relist_keeps_objects_deleted_in_the_gap():
    """The shrunk program: a/a exists; list, watch; a/a is deleted; the stream expires (410)
    before its DELETED was sent; kopf relists, and the list no longer has a/a.

    ``infinite_watch`` relists after an in-stream 410 (watching.py L205-211, L93) by yielding
    every listed object as ``type=None`` and then ``Bookmark.LISTED`` (L169-187); nothing tells the
    consumer which objects vanished. kopf's own consumer, the indices (indexing.py L302-306),
    discards an object only on a DELETED event, so a/a stays in ``kopf.index`` for good. The
    adapter's view is that index; at LISTED it claims the list's RV, where a/a does not exist.
    """
    with _program(_kopf().kopf_watch) as state:
        _listed_and_watching(state, [("a", "a", "0")])
        state.respond(stale=0, order="ascending")  # the watch opens at RV 2
        state.write(namespace="a", name="a", value=None)  # delete a/a at RV 3
        state.expire_stream()  # ERROR 410 before the DELETED; kopf relists
        state.respond(stale=0, order="ascending")  # the list at RV 3, without a/a
        state.view_agrees()


@needs_kopf
@pytest.mark.xfail(strict=True, raises=WatchListSync,
                   reason=f"D5/D6, kopf {KOPF}: with initial_streaming, a streaming list cut before its end "
                          "bookmark is resumed as a plain watch from a synthetic ADDED's RV (watching.py L234, "
                          "L280-283)")
def test_kopf_initial_streaming_cut_resumes_from_a_synthetic_rv():
    """The shrunk program: a/a (RV 2) and a/b (RV 3) exist; the streaming list sends a/b first
    (synthetic ADDEDs come in any RV order), then the stream ends before the end bookmark.

    kopf records the RV of every event (watching.py L232-234), synthetic ADDEDs included, and sends
    ``sendInitialEvents`` only while that RV is None (L280-283): the next request is a plain watch
    from RV 3, which never delivers a/a (written at RV 2), so a/a is lost for good, and
    ``Bookmark.LISTED`` never comes (it is yielded at the first BOOKMARK, L225-230). client-go
    restarts the streaming list in this case (reflector.go ``watchList``; the same bug class as
    kubernetes PR #136583).
    """
    with _program(_kopf().kopf_watch_streaming) as state:
        state.start(namespace=None, objects=[("a", "a", "0"), ("a", "b", "0")])  # client: watch-list
        state.respond(stale=0, order="descending")  # the initial events: a/b@3, then a/a@2
        state.send_events(count=1)  # a/b@3
        state.end_stream(how="clean")  # cut before a/a and the end bookmark; client: watch from 3


@needs_kopf
@pytest.mark.xfail(strict=True, raises=StaysAlive,
                   reason=f"D7, kopf {KOPF}: a 5xx outage longer than kopf's request retries (1+1+2+3+5+8+13+21 s) "
                          "raises APIServerError out of infinite_watch (api.py L100-123); the watcher ends")
def test_kopf_5xx_outage_ends_the_watcher():
    """The shrunk program: the first list gets HTTP 500 nine times in a row (kopf's eight retries
    and the first attempt; the machine scales kopf's backoffs by 1/100, so this stands for a 54 s
    outage). After eight the ninth would have been answered: ``8 x 500`` then a list passes.

    ``api.request`` retries ``APIServerError`` with ``settings.networking.error_backoffs`` and then
    re-raises it ("escalating", api.py L100-123); neither ``fetch_objs`` nor ``continuous_watch``
    nor ``infinite_watch`` catches it (watching.py L86-92 catches only ``APITooManyRequestsError``),
    so a control plane that answers 500/503 for a minute (an upgrade, an etcd outage) stops every
    kopf watcher for good. client-go keeps retrying with its backoff capped at 30 s.
    """
    with _program(_kopf().kopf_watch) as state:
        state.start(namespace=None, objects=[])
        for _ in range(9):
            state.fail_request(code=500)


def _kopf_factory(streaming: bool):
    return _kopf().kopf_watch_streaming if streaming else _kopf().kopf_watch


@needs_kopf
@pytest.mark.parametrize("streaming", [False, True], ids=["kopf", "kopf-initial-streaming"])
@pytest.mark.xfail(strict=True, raises=BoundedRetries,
                   reason=f"D3, kopf {KOPF}: continuous_watch re-watches at once when the server ends the watch "
                          "(watching.py L189-201: a while loop with no sleep)")
def test_kopf_hot_loop_when_watches_close_at_once(streaming):
    """Every watch opens and ends at once with nothing sent: kopf re-watches with no pause (86-92
    requests in 5 s on a loaded 2-core machine; 661 in 2 s unloaded, REFERENCE-clients.md).

    ``continuous_watch`` loops ``while not operator_pause_waiter.done()`` over ``watch_objs``
    (watching.py L189-201); an empty stream returns at once and nothing sleeps before the next
    request. client-go treats a watch that ends within a second with no event as an error and
    backs off (reflector.go ``VeryShortWatchError``); client-node 2.x backs off 1 s doubling.
    """
    _raise_bounded_retries(_kopf_factory(streaming), "watch-closes")


@needs_kopf
@pytest.mark.parametrize("streaming", [False, True], ids=["kopf", "kopf-initial-streaming"])
@pytest.mark.xfail(strict=True, raises=BoundedRetries,
                   reason=f"new, kopf {KOPF}: after an in-stream 410 infinite_watch relists after a constant "
                          "reconnect_backoff of 0.1 s (watching.py L93, configuration.py L237): no growth")
def test_kopf_relists_every_tenth_of_a_second_under_persistent_410(streaming):
    """Every watch gets an in-stream ERROR 410: kopf relists (or restarts the streaming list) after
    ``settings.watching.reconnect_backoff`` (0.1 s, constant), so list and watch repeat about 6 times
    a second (45-62 requests in 5 s here).

    ``infinite_watch`` sleeps ``reconnect_backoff`` between streams (watching.py L93) whatever
    ended them; the default is 0.1 s (configuration.py L237) and it never grows. A persistent 410
    is what an HA cluster whose apiservers disagree on the compacted RV gives (kubernetes #133810);
    client-go backs off 800 ms doubling to 30 s between ListAndWatch runs (reflector.go L423-435).
    """
    _raise_bounded_retries(_kopf_factory(streaming), "watch-410")
