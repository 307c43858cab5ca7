"""The three-member cluster's crash plumbing, below the state machine: what the member-crash
fault test (properties/test_faults.py with --sut etcd-cluster) relies on.

- A member is killed and reaped, and comes back on its data and ports having rejoined.
- While one member is down, lists go on: reads that meet the dead member are sent again to
  another (without that retry, the first read after a kill fails with UNAVAILABLE).
- Watches are pinned to members in turn; a crash ends the watches on that member with
  WatchClosed and no others.
- compact() waits for open watches to catch up, but not for one whose stream died with its
  member: not even when the adapter keeps that watch open (the SilentAfterCrash mutant).
"""

from __future__ import annotations

import os
import time

import pytest

from listwatch_conformance.sut.api import EventType, WatchClosed


@pytest.fixture
def backend(etcd_cluster):
    from listwatch_conformance.sut.etcd import EtcdClusterBackend

    b = EtcdClusterBackend()
    yield b
    b.close()


def test_reads_go_on_while_a_member_is_down(etcd_cluster, backend):
    rv = backend.create("ns1", "a", {}, "1")
    for member in range(3):
        pid = etcd_cluster.member_pid(member)
        etcd_cluster.kill_member(member)
        try:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)  # gone and reaped: a zombie would still take signal 0
            pages = [backend.list(namespace="ns1") for _ in range(6)]  # every member in turn, twice
        finally:
            etcd_cluster.restart_member(member)
        assert all([o.name for o in p.items] == ["a"] and p.rv >= rv for p in pages)
        assert etcd_cluster.member_pid(member) not in (None, pid)


def test_member_crash_ends_only_its_watches(etcd_cluster, backend):
    watches = [backend.watch(namespace="ns1") for _ in range(3)]
    try:
        assert [w.member for w in watches] == [0, 1, 2]
        rv = backend.create("ns1", "a", {}, "1")
        for w in watches:
            ev = w.next(5.0)
            assert ev is not None and ev.type is EventType.ADDED and ev.rv == rv
        etcd_cluster.kill_and_restart_member(1)
        with pytest.raises(WatchClosed):
            watches[1].next(5.0)
        rv2 = backend.update("ns1", "a", {}, "2")
        for w in (watches[0], watches[2]):
            ev = w.next(5.0)
            assert ev is not None and ev.type is EventType.MODIFIED and ev.rv == rv2
        # resumed from the last RV seen, on member 0 and on the restarted member 1: exactly rv2
        resumed = [backend.watch(namespace="ns1", rv=rv) for _ in range(2)]
        watches += resumed
        assert [w.member for w in resumed] == [0, 1]
        for w in resumed:
            ev = w.next(5.0)
            assert ev is not None and ev.type is EventType.MODIFIED and ev.rv == rv2
            assert w.next(0.2) is None
    finally:
        for w in watches:
            w.close()


@pytest.mark.parametrize("factory", ["EtcdClusterBackend", "SilentAfterCrash"])
def test_compact_does_not_wait_for_a_watch_whose_member_died(etcd_cluster, factory):
    from listwatch_conformance.sut.etcd import EtcdClusterBackend, mutants
    from listwatch_conformance.sut.etcd.backend import RPC_DEADLINE

    b = EtcdClusterBackend() if factory == "EtcdClusterBackend" else getattr(mutants, factory)()
    try:
        w = b.watch(namespace="ns1")
        b.create("ns1", "a", {}, "1")
        assert w.next(5.0) is not None
        etcd_cluster.kill_and_restart_member(w.member)
        rv = b.update("ns1", "a", {}, "2")  # a write the dead stream will never carry
        started = time.monotonic()
        b.compact(rv)
        # compact() gives up waiting for a watch after RPC_DEADLINE; before the stream's end
        # counted, it waited that long for the mutant's watch every time (then the suite's
        # own deadline for compact(), as long, reported a BackendHang)
        assert time.monotonic() - started < RPC_DEADLINE
        if factory == "EtcdClusterBackend":
            with pytest.raises(WatchClosed):
                w.next(5.0)
        else:
            assert w.next(0.5) is None  # still the mutant: open and silent
    finally:
        b.close()


def test_progress_reaches_the_last_write_on_every_member(backend):
    """A follower may answer a progress request below the last acknowledged write
    (tests/test_etcd_findings.py); request_progress asks again until it does not."""
    watches = [backend.watch(namespace="ns1", allow_bookmarks=True) for _ in range(3)]
    try:
        for i in range(20):
            rv = backend.create("ns1", f"o{i}", {}, "1")
            backend.request_progress()
            for w in watches:
                events = []
                while (ev := w.next(0.0 if events else 5.0)) is not None:
                    events.append(ev)
                bookmarks = [e.rv for e in events if e.type is EventType.BOOKMARK]
                assert bookmarks and bookmarks[-1] >= rv, (
                    f"ProgressLiveness: member {w.member}: no bookmark at or past {rv} after request_progress: "
                    f"{events}")
    finally:
        for w in watches:
            w.close()
