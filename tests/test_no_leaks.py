"""Nothing the suite starts outlives it: threads are gone after passing, failing and hanging
runs, and servers (etcd, our Kubernetes server) are gone after a run is interrupted with
Ctrl-C (SIGINT), as a user or a CI job cancelling it does."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from listwatch_conformance.properties.config import HARNESS
from listwatch_conformance.properties.harness import BackendHang
from listwatch_conformance.properties.machine import conformance_machine
from listwatch_conformance.sut.memory import MemoryBackend
from listwatch_conformance.sut.mutants import DuplicateAfterInit
from tests import broken_backends
from tests.conftest import REPO

QUICK = settings(max_examples=30, stateful_step_count=30, deadline=None, derandomize=True, database=None,
                 report_multiple_bugs=False,  # one error to match (Hypothesis 6.170 groups distinct ones)
                 suppress_health_check=list(HealthCheck))
CAPABILITIES = MemoryBackend().capabilities


def wait_for(condition, deadline: float, poll: float = 0.05):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(poll)
    return condition()


def suite_threads(baseline: set[threading.Thread]) -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t not in baseline and t.is_alive())


@pytest.mark.parametrize("backend, outcome", [
    (MemoryBackend, None),
    (DuplicateAfterInit, AssertionError),  # fails: a violation, shrunk
    (broken_backends.HangingNext, BackendHang),
], ids=["passing", "failing", "hanging"])
def test_no_thread_outlives_a_run(monkeypatch, backend, outcome):
    baseline = set(threading.enumerate())
    monkeypatch.setattr(HARNESS, "wait_budget", 0.2)
    broken_backends.RELEASE.clear()
    try:
        if outcome is None:
            run_state_machine_as_test(conformance_machine(backend, CAPABILITIES), settings=QUICK)
        else:
            with pytest.raises(outcome):
                run_state_machine_as_test(conformance_machine(backend, CAPABILITIES), settings=QUICK)
    finally:
        broken_backends.RELEASE.set()  # a hung call returns, and its abandoned thread can end
    assert wait_for(lambda: not suite_threads(baseline), deadline=10), suite_threads(baseline)


def processes_marked(marker: str) -> list[int]:
    """PIDs of live processes whose environment carries ``marker`` (children inherit it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                status = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if status != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def interrupt_run(args: list[str], started, deadline: float = 60, settle: float = 3.0):
    """Start pytest with ``args``; ``settle`` seconds after ``started(marker, its pid)`` holds (so the
    server is up and examples run, not still starting), SIGINT it; return the marker."""
    marker = f"LISTWATCH_LEAK_MARK={uuid.uuid4().hex}"
    env = {**os.environ, marker.split("=")[0]: marker.split("=")[1]}
    env.pop("PYTEST_XDIST_WORKER", None)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: started(marker, proc.pid), deadline), "the run never got to the point to interrupt"
        time.sleep(settle)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return marker


def child_running(marker: str, parent: int, program: str) -> bool:
    """Whether a process other than ``parent`` carrying ``marker`` runs ``program`` (its argv[0] or argv[2])."""
    for pid in processes_marked(marker):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if pid != parent and any(program.encode() == Path(a.decode()).name.encode() or program.encode() == a
                                 for a in argv[:3]):
            return True
    return False


@pytest.mark.slow  # waits for etcd to start, then for its end
def test_ctrl_c_leaves_no_etcd_behind():
    from listwatch_conformance.sut.etcd import server

    if server.etcd_binary() is None:
        pytest.skip("no etcd binary")
    marker = interrupt_run(["properties", "--sut", "etcd"], lambda m, pid: child_running(m, pid, "etcd"))
    assert wait_for(lambda: not processes_marked(marker), deadline=10), processes_marked(marker)


@pytest.mark.slow  # waits for the server to start, then for its end
def test_ctrl_c_leaves_no_kube_server_behind():
    marker = interrupt_run(["properties", "--sut", "kube", "--kube-serve", "memory"],
                           lambda m, pid: child_running(m, pid, "listwatch_conformance.sut.kube"))
    assert wait_for(lambda: not processes_marked(marker), deadline=10), processes_marked(marker)


@pytest.mark.slow  # waits for node to load @kubernetes/client-node, then for its end
def test_ctrl_c_leaves_no_node_behind():
    """client-node's adapter runs node processes (one loaded process runs each example's informer): none
    outlives Ctrl-C."""
    from listwatch_conformance.sut.clients.client_node import unavailable

    if (reason := unavailable()) is not None:
        pytest.skip(reason)
    # settle 10 s: long enough for an example's informer to be running (one loaded but not started
    # ends on its own when its stdin closes, and would prove nothing)
    marker = interrupt_run(["properties", "--client", "client-node"], lambda m, pid: child_running(m, pid, "node"),
                           settle=10.0)
    assert wait_for(lambda: not processes_marked(marker), deadline=10), processes_marked(marker)
