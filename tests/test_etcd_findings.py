"""What etcd 3.4 (and its grpc-proxy) do that the list-watch contract does not allow.

Each test is a minimal reproduction on raw gRPC, asserting what the contract needs; it is
marked xfail(strict=True) because etcd 3.4.23 behaves otherwise, so a fixed etcd turns it
into a failure that asks for the xfail (and the adapter's workaround) to be dropped. The
adapter in sut/etcd/backend.py works around each one; its docstrings say how.
"""

from __future__ import annotations

import uuid

import pytest

pytest.importorskip("grpc", reason="the etcd extra is not installed (pip install -e .[etcd])")
pytest.importorskip("aetcd.rpc", reason="the etcd extra is not installed (pip install -e .[etcd])")

from tests.etcd_raw import RawEtcd  # noqa: E402


ATTEMPTS = 5  # tries of a timing-dependent finding; one violation is enough


def _prefix() -> bytes:
    return f"/findings/{uuid.uuid4().hex}/".encode()


@pytest.fixture
def etcd(etcd_endpoint):
    raw = RawEtcd(etcd_endpoint, _prefix())
    yield raw
    raw.close()


@pytest.fixture
def proxied(etcd_endpoint):
    from listwatch_conformance.sut.etcd import server

    if server.etcd_binary() is None:
        pytest.skip("no `etcd` binary for `etcd grpc-proxy start`")
    raw = RawEtcd(server.proxy_endpoint(), _prefix())
    yield raw
    raw.close()


@pytest.mark.xfail(strict=True, reason="etcd 3.4 grpc-proxy never answers a WatchProgressRequest, so the "
                   "etcd-proxy backend declares progress=False")
def test_proxy_answers_progress_request(proxied):
    rev = proxied.put("a")
    w = proxied.watch(rev + 1)
    try:
        w.progress()
        answers = w.until(lambda r: r.watch_id == -1, timeout=2.0)
        assert answers and answers[-1].watch_id == -1, "no progress response through the grpc-proxy within 2s"
    finally:
        w.close()


@pytest.mark.xfail(strict=True, reason="etcd 3.4 answers a progress request on a control channel: for a watch "
                   "still catching up (unsynced) it reports the current revision before the older events (Bookmarkable)")
def test_progress_response_does_not_overtake_events(etcd):
    # A race with etcd's 100 ms sync loop: the progress request must land while the new watch is still
    # unsynced. It is sent right behind the create request, and the attempt is repeated, so that a loaded
    # machine cannot hide the finding (one overtaking answer is the violation).
    first = etcd.put("k0")
    for i in range(100):
        etcd.put(f"k{i}")
    for _ in range(ATTEMPTS):
        w = etcd.watch(first, then_progress=True)
        try:
            seen = w.until(lambda r: r.watch_id == -1)
            assert seen and seen[-1].watch_id == -1, "no progress response"
            progress_rev = seen[-1].header.revision
            delivered = [ev.kv.mod_revision for r in seen for ev in r.events]
            assert delivered and max(delivered) >= progress_rev, (
                f"Bookmarkable: progress at revision {progress_rev} arrived after events up to "
                f"{max(delivered) if delivered else 'none'}")
        finally:
            w.close()


@pytest.mark.xfail(strict=True, reason="etcd 3.4 serves a watch from the compacted revision C itself, but the "
                   "DELETE at C is gone with its compacted tombstone: a partial replay, not a full one or Expired "
                   "(ExpiredNotPartial)")
def test_watch_from_compaction_revision_keeps_delete(etcd):
    etcd.put("a")
    deleted = etcd.delete("a")
    etcd.compact(deleted)
    w = etcd.watch(deleted)
    try:
        got = w.until(lambda r: r.events or r.canceled, timeout=1.0)
        assert got and (got[-1].canceled or got[-1].events[0].kv.mod_revision == deleted), (
            f"ExpiredNotPartial: no DELETE at revision {deleted} and no cancel")
    finally:
        w.close()


@pytest.mark.xfail(strict=True, reason="etcd 3.4 sends the PUT at the compacted revision C without prev_kv (the "
                   "previous version is compacted), so the filter transition (ADDED or MODIFIED) is unknowable")
def test_watch_from_compaction_revision_keeps_prev_kv(etcd):
    etcd.put("b", b"old")
    updated = etcd.put("b", b"new")
    etcd.compact(updated)
    w = etcd.watch(updated)
    try:
        got = w.until(lambda r: r.events or r.canceled, timeout=1.0)
        assert got and got[-1].events, "no event at the compaction revision"
        assert got[-1].events[0].prev_kv.value == b"old", "FilterTransitions: the update came without prev_kv"
    finally:
        w.close()


@pytest.mark.xfail(strict=True, reason="etcd 3.4 cancels (compact_revision) a watch created from a retained "
                   "revision when a compaction lands before its unsynced watcher catches up (syncs run every "
                   "100 ms): the watch was valid when made (Retention)")
def test_compaction_spares_watch_created_before_it(etcd):
    # A race with etcd's 100 ms sync loop, repeated so that a slow machine cannot hide it.
    for _ in range(ATTEMPTS):
        start = etcd.put("x")
        etcd.put("y")
        watches = [etcd.watch(start) for _ in range(3)]
        try:
            etcd.compact(etcd.put("z"))
            canceled = [w for w in watches if any(r.canceled for r in w.until(lambda r: r.canceled, timeout=0.5))]
            assert not canceled, f"Retention: {len(canceled)} of 3 watches from retained revision {start} canceled"
        finally:
            for w in watches:
                w.close()


@pytest.fixture
def leader_and_follower(etcd_cluster):
    """(RawEtcd on the cluster's leader, RawEtcd on a follower), on one fresh prefix."""
    import grpc
    from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

    def is_leader(endpoint):
        with grpc.insecure_channel(endpoint) as channel:
            status = rpc_pb2_grpc.MaintenanceStub(channel).Status(rpc_pb2.StatusRequest(), timeout=5.0)
            return status.header.member_id == status.leader

    leader = next(e for e in etcd_cluster.endpoints if is_leader(e))
    follower = next(e for e in etcd_cluster.endpoints if e != leader)
    prefix = _prefix()
    pair = RawEtcd(leader, prefix), RawEtcd(follower, prefix)
    yield pair
    for raw in pair:
        raw.close()


@pytest.mark.xfail(strict=True, reason="etcd 3.4 answers a progress request with the revision the member has "
                   "applied: a follower may answer below a write the leader already acknowledged, so one answer "
                   "does not give a bookmark at the last write (ProgressLiveness); the adapter asks again")
def test_follower_progress_reaches_acknowledged_write(leader_and_follower):
    leader, follower = leader_and_follower
    w = follower.watch(leader.put("a") + 1)
    try:
        behind = []
        for _ in range(100):  # the follower lagged in about half the tries here: 100 make a miss all but impossible
            rev = leader.put("a")
            w.progress()
            answer = w.until(lambda r: r.watch_id == -1)
            assert answer and answer[-1].watch_id == -1, "no progress response"
            if answer[-1].header.revision < rev:
                behind.append((rev, answer[-1].header.revision))
        assert not behind, (f"ProgressLiveness: {len(behind)} of 100 follower progress answers were below the write "
                            f"acknowledged before the request (write, answer): {behind[:3]}")
    finally:
        w.close()
