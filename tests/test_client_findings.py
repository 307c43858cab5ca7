"""Deviations the client suite found in real clients (the official ``kubernetes`` Python client,
kubectl 1.20, kubernetes_asyncio, kr8s, lightkube, kopf), kept as strict xfails: each replays the shrunk program (or the persistent fault)
that shows it, names the library version and the guarantee, and starts passing (failing the suite)
once the library is fixed.

Predicted in REFERENCE-clients.md section 3; see docs/clients.md for the table.
"""

import contextlib
import logging

import pytest

from listwatch_conformance.model.client_guarantees import VIOLATIONS, ClientGuarantee as CG
from listwatch_conformance.properties.client_machine import client_machine
from listwatch_conformance.properties.client_retries import bounded_retries
from listwatch_conformance.sut.clients.kubectl import kubectl_version, kubectl_wait

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

# --- the asyncio Python clients (issue 15): kubernetes_asyncio, kr8s, lightkube -------------------
# Each library is optional: its tests skip, with the reason, where it is not installed. A program
# is a list of client-machine rule calls, replayed in order on a fresh machine, then the teardown
# (Converges and the first violation seen).

from listwatch_conformance.properties.client_machine import ClientMachine  # noqa: E402
from listwatch_conformance.sut.clients.aio import distribution_version  # noqa: E402
from listwatch_conformance.sut.clients.loading import resolve_client  # noqa: E402
from listwatch_conformance.sut.clients.reflector import reflector  # noqa: E402

RobustFraming = VIOLATIONS[CG.RobustFraming]
ResumeFromLastSeen = VIOLATIONS[CG.ResumeFromLastSeen]
ViewAtRV = VIOLATIONS[CG.ViewAtRV]
ASYNCIO_VERSION = distribution_version("kubernetes_asyncio")
KR8S_VERSION = distribution_version("kr8s")
LIGHTKUBE_VERSION = distribution_version("lightkube")


def _adapter(short_name: str, distribution: str):
    """The adapter factory for a built-in short name; skips where its library is not installed."""
    pytest.importorskip(distribution.replace("-", "_"), reason=f"{distribution} is not installed "
                        "(pip install -e .[clients])")
    return resolve_client(short_name)


def _play(factory, program: list[tuple[str, dict]]) -> ClientMachine:
    """Replay ``program`` (rule name, arguments) on a fresh client machine; raises its first violation."""
    state = client_machine(factory)()
    try:
        for rule, arguments in program:
            getattr(state, rule)(**arguments)
            state.view_agrees()
    finally:
        state.teardown()
    return state


def _retries(factory, fault: str) -> None:
    violation = bounded_retries(factory, fault)
    if violation is not None:
        raise violation


START_EMPTY = ("start", {"namespace": None, "objects": []})
ANSWER = ("respond", {"stale": 0, "order": "ascending"})
WRITE_A = ("write", {"namespace": "a", "name": "a", "value": "0"})

# The client's watch is open: kr8s's first, RV-less one; the others' from the list's RV.
WATCH_OPEN = {"kr8s": [START_EMPTY, ANSWER],  # watch-only: the first request is an RV-less watch
              "listing": [START_EMPTY, ANSWER, ANSWER]}  # list at RV 1, then the watch from 1 opens


def _expired_stream(kind: str) -> list[tuple[str, dict]]:
    """The watch is open, one live event (a/a at RV 2) reaches the client, then compaction passes it:
    an in-stream ERROR 410 Expired and the end of the stream."""
    return [*WATCH_OPEN[kind], WRITE_A, ("send_events", {"count": 1}), ("check_view", {}), ("expire_stream", {})]


def _in_stream_error(kind: str) -> list[tuple[str, dict]]:
    """The watch is open, then an in-stream ERROR 500 InternalError and the end of the stream."""
    return [*WATCH_OPEN[kind], ("end_stream", {"how": "internal-error"})]


def _blank_line(kind: str) -> list[tuple[str, dict]]:
    """The watch is open, a blank line is sent on it, then the stream ends cleanly: the client owes its
    next request, which a client whose loop the blank line ended never makes (ending the stream gives
    the client the wait budget to show it, where the end of the program would race it)."""
    return [*WATCH_OPEN[kind], ("send_blank_line", {}), ("end_stream", {"how": "clean"})]


# List at RV 1, a/a written (2), the watch from 1 is answered HTTP 410 (compaction just above 1).
HTTP_410 = [START_EMPTY, ANSWER, WRITE_A, ("expire_request", {"in_stream": False})]
# a/b exists (RV 2); list at 2; a/a written (3), a/b deleted (4); the watch from 2 expires in the stream.
DELETE_IN_410_GAP = [("start", {"namespace": None, "objects": [("a", "b", "0")]}), ANSWER, WRITE_A,
                     ("write", {"namespace": "a", "name": "b", "value": None}), ("expire_request", {"in_stream": True})]


@pytest.mark.parametrize("program", [_expired_stream("listing"), _in_stream_error("listing"), _blank_line("listing"),
                                     HTTP_410, DELETE_IN_410_GAP],
                         ids=["expired-stream", "in-stream-error", "blank-line", "http-410", "delete-in-410-gap"])
def test_finding_programs_pass_on_the_reference_client(program):
    """The programs below are legal server behaviour: the reference reflector (client-go's algorithm)
    goes through each without a violation, so what they show in a library is the library's."""
    _play(reflector, program)


@pytest.mark.parametrize("mutant, program, guarantee", [
    ("retry_same_rv_after_expired", _expired_stream("listing"), CG.NoRetryAtExpiredRV),
    ("in_stream_error_stops", _in_stream_error("listing"), CG.RobustFraming),
    ("blank_line_raises", _blank_line("listing"), CG.RobustFraming),
    ("http_gone_keeps_rv", HTTP_410, CG.NoRetryAtExpiredRV),
    ("rv_less_rewatch", DELETE_IN_410_GAP, CG.ResumeFromLastSeen),
], ids=["expired-stream", "in-stream-error", "blank-line", "http-410", "delete-in-410-gap"])
def test_finding_programs_kill_the_matching_mutant(mutant, program, guarantee):
    """... and each fails the reference reflector's mutant with the same bug (sut/clients/mutants.py)."""
    from listwatch_conformance.sut.clients import mutants
    with pytest.raises(VIOLATIONS[guarantee]):
        _play(getattr(mutants, mutant), program)


# kr8s ---------------------------------------------------------------------------------------------

@pytest.mark.xfail(strict=True, raises=NoRetryAtExpiredRV,
                   reason=f"D1, kr8s {KR8S_VERSION}: Api.async_watch answers an in-stream 410 by watching again "
                          "with the unchanged `since` (_api.py: restart_watch), the RV that just expired")
def test_kr8s_rewatches_the_expired_rv():
    """kr8s's ``async_watch`` (``kr8s/_api.py``, the ``while True`` loop) sets ``restart_watch`` when
    an event's object is a Status with code 410 and starts the next watch with ``params={"resourceVersion":
    since}``, where ``since`` is still the RV of the last object it yielded: the RV the server just said
    is compacted. A real apiserver answers that watch with 410 again, so this is an endless hot loop (the
    BoundedRetries ``watch-410`` test below counts it). Request log of the program: ``GET /version``,
    ``GET /api/v1/configmaps?watch=true``, ``GET /api/v1/configmaps?resourceVersion=2&watch=true`` (after
    the 410 for RV 2)."""
    _play(_adapter("kr8s", "kr8s"), _expired_stream("kr8s"))


@pytest.mark.xfail(strict=True, raises=RobustFraming,
                   reason=f"D11, kr8s {KR8S_VERSION}: an in-stream ERROR other than 410 is built as a ConfigMap "
                          "(_api.py: obj_cls(event['object'])) and reading its resourceVersion raises BoxKeyError")
def test_kr8s_in_stream_error_raises_box_key_error():
    """kr8s checks an event's object only for ``kind == "Status"`` *and* ``code == 410``; any other
    ERROR event (a 500 InternalError, a 429) goes to ``obj = obj_cls(event["object"], api=self)`` and
    ``since = obj.metadata.resourceVersion``, and a Status has no ``metadata.resourceVersion``:
    ``BoxKeyError: 'resourceVersion'`` escapes the watch generator, which is no error kr8s documents
    (its ``ServerError`` and friends). Program: the RV-less watch opens, then ``end_stream("internal-error")``."""
    _play(_adapter("kr8s", "kr8s"), _in_stream_error("kr8s"))


@pytest.mark.xfail(strict=True, raises=RobustFraming,
                   reason=f"D10, kr8s {KR8S_VERSION}: a blank line on the watch stream reaches json.loads "
                          "(_api.py: event = json.loads(line)) and JSONDecodeError escapes the watch")
def test_kr8s_blank_line_raises_json_decode_error():
    """kr8s decodes every line httpx's ``aiter_lines`` yields, the empty one too: ``json.loads("")``
    raises ``JSONDecodeError``, which escapes ``async_watch``. Program: the RV-less watch opens, then
    ``send_blank_line()``, then the stream ends. (A line cut mid-way by a dropped connection does not reach the decoder:
    httpx raises ``RemoteProtocolError`` for the incomplete chunked body first.)"""
    _play(_adapter("kr8s", "kr8s"), _blank_line("kr8s"))


@pytest.mark.xfail(strict=True, raises=ViewAtRV,
                   reason=f"D5, kr8s {KR8S_VERSION}: a watch-only user takes the RV of a synthetic ADDED as its "
                          "position (Api.watch yields no list RV and no end of the initial state), claims it "
                          "while older objects are still owed, and resumes `since` it, losing them")
def test_kr8s_resumes_from_a_synthetic_added():
    """kr8s's only watch API is ``Api.watch`` (``get`` returns objects, not the list's RV), so a user
    starts with an RV-less watch, whose first events are synthetic ADDEDs in any RV order, and kr8s
    itself moves ``since`` to every object's RV (``_api.py``: ``since = obj.metadata.resourceVersion``).
    Program: a/a (RV 2) and a/b (RV 3) exist; the RV-less watch sends a/b@3 first (descending), then
    the stream ends cleanly. The user's dict claims RV 3 with only a/b (ViewAtRV: a/a@2 exists at 3),
    and its restart is ``GET /api/v1/configmaps?resourceVersion=3&watch=true``, which can never deliver
    a/a@2: the object is lost until it changes (client-go PR #136583 fixed the same resume)."""
    _play(_adapter("kr8s", "kr8s"),
          [("start", {"namespace": None, "objects": [("a", "a", "0"), ("a", "b", "0")]}),
           ("respond", {"stale": 0, "order": "descending"}), ("send_events", {"count": 1}), ("check_view", {}),
           ("end_stream", {"how": "clean"})])


# lightkube ----------------------------------------------------------------------------------------

@pytest.mark.xfail(strict=True, raises=NoRetryAtExpiredRV,
                   reason=f"D4, lightkube {LIGHTKUBE_VERSION}: with on_error_retry an HTTP 410 on the watch is "
                          "retried at the same RV (generic_client.py resets the RV only for an in-stream ApiError)")
def test_lightkube_retry_rewatches_after_http_410():
    """``GenericAsyncClient.watch`` (``lightkube/core/generic_client.py``) catches ``httpx.HTTPError``
    and resets the watch driver's RV only ``if isinstance(e, ApiError) and e.status.code == 410``. An
    HTTP 410 raises from ``resp.raise_for_status()`` as a plain ``httpx.HTTPStatusError``, not an
    ``ApiError``, so ``on_error_retry`` ("Immediately retries the API call using the last known resource
    version") watches from the expired RV again, at once and forever. Program: list at RV 1, the watch
    from 1 is answered HTTP 410 (``expire_request(in_stream=False)``); the next request is
    ``GET /api/v1/configmaps?resourceVersion=1&watch=true``."""
    _play(_adapter("lightkube-retry", "lightkube"), HTTP_410)


@pytest.mark.xfail(strict=True, raises=ResumeFromLastSeen,
                   reason=f"D12, lightkube {LIGHTKUBE_VERSION}: with on_error_retry an in-stream 410 restarts "
                          "the watch without an RV (a fresh state as ADDED events), not a relist: objects deleted "
                          "in the gap stay in the user's dict")
def test_lightkube_retry_rv_less_rewatch_after_410():
    """After an in-stream ERROR 410, ``generic_client.py`` calls ``wd.reset_version()`` and watches
    with no ``resourceVersion``: the server sends the current objects as synthetic ADDEDs and nothing
    for objects deleted meanwhile, and the user (whose dict came from the list) is not told to drop
    anything. Program: a/b exists (RV 2); list at 2; a/a written (3), a/b deleted (4); the watch from 2
    expires in the stream. The next request is ``GET /api/v1/configmaps?watch=true`` (no RV, no list);
    after its ADDED a/a@3 the user's dict still holds a/b, deleted at RV 4, and keeps it for good."""
    _play(_adapter("lightkube-retry", "lightkube"), DELETE_IN_410_GAP)


@pytest.mark.parametrize("short_name", ["lightkube", "lightkube-retry"])
@pytest.mark.xfail(strict=True, raises=RobustFraming,
                   reason=f"D10, lightkube {LIGHTKUBE_VERSION}: a blank line on the watch stream reaches msgspec "
                          "(generic_client.py: process_one_line) and DecodeError escapes, on_error_retry or not")
def test_lightkube_blank_line_raises_decode_error(short_name):
    """``GenericAsyncClient.watch`` hands every line of ``resp.aiter_lines()`` to
    ``WatchDriver.process_one_line`` -> ``decoders.decode_watch_event``, and only ``httpx.HTTPError``
    goes to ``on_error``: msgspec's ``DecodeError('Input data was truncated')`` for the empty line is
    neither retried nor documented, and ends the user's loop. Program: list at RV 1, the watch from 1
    opens, a blank line, the stream ends; no next request comes. (A line cut mid-way by a dropped
    connection does not reach the decoder: httpx raises ``RemoteProtocolError`` first, which
    ``on_error_retry`` retries.)"""
    _play(_adapter(short_name, "lightkube"), _blank_line("listing"))


# kubernetes_asyncio -------------------------------------------------------------------------------

@pytest.mark.xfail(strict=True, raises=NoRetryAtExpiredRV,
                   reason=f"D13, kubernetes_asyncio {ASYNCIO_VERSION}: Watch.next retries an in-stream 410 once "
                          "at the same RV (watch.py: retry_410) before raising")
def test_kubernetes_asyncio_retries_the_expired_rv():
    """``Watch.next`` (``kubernetes_asyncio/watch/watch.py``) catches the ``ApiException`` that
    ``unmarshal_event`` raises for an ERROR event and, when ``ex.status == 410 and retry_410``, calls
    ``_reconnect()``, which keeps ``resource_version`` (the expired one) and watches again; only the
    second 410 reaches the user. The maintainer kept the retry on purpose (PR #327). Program: list at
    RV 1, the watch from 1 gets a/a@2, then an in-stream 410; the next request is
    ``GET /api/v1/configmaps?resourceVersion=2&watch=True``."""
    _play(_adapter("kubernetes-asyncio", "kubernetes_asyncio"), _expired_stream("listing"))


@pytest.mark.xfail(strict=True, raises=RobustFraming,
                   reason=f"D9, kubernetes_asyncio {ASYNCIO_VERSION}: a line that is not JSON is returned to the "
                          "user as a str event (watch.py unmarshal_event: except ValueError: return data)")
def test_kubernetes_asyncio_yields_a_blank_line_as_a_str_event():
    """``Watch.unmarshal_event`` does ``try: js = json.loads(data) except ValueError: return data``,
    and ``Watch.next`` returns that as the event: the user's ``event['type']`` (the docstring's usage)
    raises ``TypeError: string indices must be integers``. Program: list at RV 1, the watch from 1
    opens, a blank line (``"\n"``, which ``readline`` returns and ``next`` does not skip), the stream
    ends; the user's loop is dead and no next request comes. (A line cut mid-way by a dropped connection
    does not get there: aiohttp raises ``ClientPayloadError`` for the incomplete body first.)"""
    _play(_adapter("kubernetes-asyncio", "kubernetes_asyncio"), _blank_line("listing"))


def _hot_loop(short_name: str, distribution: str, fault: str, reason: str):
    return pytest.param(short_name, distribution, fault, id=f"{short_name}-{fault}",
                        marks=pytest.mark.xfail(strict=True, raises=BoundedRetries, reason=reason))


@pytest.mark.parametrize("short_name, distribution, fault", [
    _hot_loop("kr8s", "kr8s", "watch-410",
              f"D1, kr8s {KR8S_VERSION}: every watch getting 410 makes async_watch re-watch the same RV at once, "
              "forever (hundreds of requests in 5 s)"),
    _hot_loop("lightkube", "lightkube", "watch-closes",
              f"D3, lightkube {LIGHTKUBE_VERSION}: Client.watch re-requests at once when the server ends the watch "
              "(generic_client.py: the while True loop has no sleep)"),
    _hot_loop("lightkube-retry", "lightkube", "watch-closes",
              f"D3, lightkube {LIGHTKUBE_VERSION}: the same with on_error_retry"),
    _hot_loop("lightkube-retry", "lightkube", "watch-500",
              f"D3, lightkube {LIGHTKUBE_VERSION}: on_error_retry retries a failed watch request at once (types.py: "
              "OnErrorResult(RETRY) with sleep 0)"),
    _hot_loop("kubernetes-asyncio", "kubernetes_asyncio", "watch-closes",
              f"D3, kubernetes_asyncio {ASYNCIO_VERSION}: Watch.next reconnects at once on the end of a stream when "
              "no timeout_seconds is set (watch.py: watch_forever, no sleep)"),
])
def test_hot_loops_inside_the_library(short_name, distribution, fault):
    """BoundedRetries where the hot loop is the library's own (not the user's restart, see docs/clients.md)."""
    _retries(_adapter(short_name, distribution), fault)


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


BOTH_KOPF_MODES = pytest.mark.parametrize("streaming", [False, True], ids=["kopf", "kopf-initial-streaming"])


def _kopf_factory(streaming: bool):
    return _kopf().kopf_watch_streaming if streaming else _kopf().kopf_watch


@needs_kopf
@BOTH_KOPF_MODES
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
    _retries(_kopf_factory(streaming), "watch-closes")


@needs_kopf
@BOTH_KOPF_MODES
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
    _retries(_kopf_factory(streaming), "watch-410")
