"""Starting and stopping the etcd processes the etcd backends talk to.

Contract:

- :func:`endpoint` returns the ``host:port`` of the etcd the ``etcd`` backend uses: the one
  set with :func:`use_endpoint` (``--etcd-endpoint``), or else one local etcd started on
  first use and kept for the rest of the process (one per pytest-xdist worker).
  :func:`proxy_endpoint` likewise returns an ``etcd grpc-proxy`` in front of a local etcd.
- A local etcd listens on 127.0.0.1 on free ports, keeps its data in a fresh temporary
  directory, sends periodic progress notifications every :data:`PROGRESS_INTERVAL`, and
  is answered-or-failed within :data:`START_DEADLINE` seconds: :class:`EtcdUnavailable`
  carries the reason and the tail of its log.
- Every process started here runs in its own session and process group and dies with
  the test process (``setpriv --pdeathsig KILL``, where util-linux has it); :func:`stop_all` (called at exit and by the pytest plugin) kills
  each group and removes its data directory.
- :meth:`EtcdProcess.kill_and_restart` is the fault the fault machine injects: SIGKILL,
  then the same command on the same data directory and ports.
  :meth:`EtcdCluster.kill_and_restart_member` does the same to one member of the cluster
  (:func:`local_cluster`) and returns once that member answers a linearizable read, which
  it can only do when it has rejoined: it hears from a leader and has applied everything
  committed before the read.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import grpc

from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

PROGRESS_INTERVAL = "500ms"
START_DEADLINE = 20.0
STOP_DEADLINE = 5.0
WARMUP_REVISIONS = 16


class EtcdUnavailable(Exception):
    """No etcd to talk to: binary missing, process died, or no answer before the deadline."""


def etcd_binary() -> str | None:
    """Path of the ``etcd`` binary, or None when it is not installed."""
    return shutil.which("etcd")


def _die_with_parent(argv: list[str]) -> list[str]:
    """``argv`` run so that it is SIGKILLed when the test process dies (util-linux ``setpriv``).

    Not a preexec_fn: running Python between fork and exec in a process with threads (gRPC
    has several) can abort the child before it execs (seen as etcd exiting with SIGABRT).
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else argv


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_ready(target: str, deadline: float, proc: subprocess.Popen | None = None, what: str = "etcd") -> None:
    """Block until ``target`` answers a KV range, the process dies, or ``deadline`` passes."""
    channel = grpc.insecure_channel(target)
    try:
        stub = rpc_pb2_grpc.KVStub(channel)
        last: Exception | None = None
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise EtcdUnavailable(f"{what} exited with status {proc.returncode} while starting")
            try:
                stub.Range(rpc_pb2.RangeRequest(key=b"\0"), timeout=min(1.0, max(0.05, deadline - time.monotonic())),
                           wait_for_ready=True)
                return
            except grpc.RpcError as exc:
                last = exc
        raise EtcdUnavailable(f"{what} at {target} did not answer within the deadline ({last!r:.200})")
    finally:
        channel.close()


def _advance_revision(target: str) -> None:
    """Move a fresh etcd's revision past the small RVs (1, 2, 3...) the suite probes as
    "future" before an example has seen any RV, so the first example answers like later ones."""
    with grpc.insecure_channel(target) as channel:
        kv = rpc_pb2_grpc.KVStub(channel)
        for _ in range(WARMUP_REVISIONS):
            kv.Put(rpc_pb2.PutRequest(key=b"/listwatch-warmup", value=b""), timeout=START_DEADLINE)


class _Process:
    """One child process in its own group, with its log in a file."""

    def __init__(self, name: str, argv: list[str], workdir: str):
        self.name, self.argv, self.workdir = name, argv, workdir
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.proc: subprocess.Popen | None = None

    def spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(_die_with_parent(self.argv), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, start_new_session=True)

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=STOP_DEADLINE)

    def log_tail(self, lines: int = 15) -> str:
        """The log's last lines, or from its first panic/fatal line on (Go's crash report)."""
        try:
            with open(self.log_path, errors="replace") as f:
                text = f.readlines()
        except OSError:
            return ""
        crash = next((i for i, line in enumerate(text) if line.startswith(("panic", "fatal error"))
                      or '"level":"panic"' in line or '"level":"fatal"' in line), None)
        return "".join(text[crash:crash + lines] if crash is not None else text[-lines:])


class EtcdProcess:
    """A single-member etcd on loopback with a temporary data directory."""

    def __init__(self, binary: str):
        self.workdir = tempfile.mkdtemp(prefix="listwatch-etcd-")
        client, peer = _free_ports(2)
        self.endpoint = f"127.0.0.1:{client}"
        self._process = _Process("etcd", [
            binary, "--name", "listwatch", "--data-dir", os.path.join(self.workdir, "data"),
            "--listen-client-urls", f"http://127.0.0.1:{client}", "--advertise-client-urls", f"http://127.0.0.1:{client}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"listwatch=http://127.0.0.1:{peer}",
            "--experimental-watch-progress-notify-interval", PROGRESS_INTERVAL,
            "--log-level", "warn", "--logger", "zap",
        ], self.workdir)

    def start(self) -> None:
        self._process.spawn()
        self._wait()
        _advance_revision(self.endpoint)

    def _wait(self) -> None:
        try:
            wait_ready(self.endpoint, time.monotonic() + START_DEADLINE, self._process.proc, "etcd")
        except EtcdUnavailable as exc:
            raise EtcdUnavailable(f"{exc}; log {self._process.log_path}:\n{self._process.log_tail()}") from None

    def kill_and_restart(self) -> None:
        """SIGKILL etcd, then start it again on the same data directory and ports; wait until it answers."""
        self._process.kill()
        self._process.spawn()
        self._wait()

    def stop(self) -> None:
        self._process.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


class EtcdCluster:
    """Three etcd members on loopback (one temporary directory); ``endpoint`` names them all
    as one gRPC target, for a round-robin channel; ``endpoints[i]`` is member ``i`` alone."""

    def __init__(self, binary: str, size: int = 3):
        self.workdir = tempfile.mkdtemp(prefix="listwatch-etcd-cluster-")
        ports = _free_ports(2 * size)
        names = [f"member{i}" for i in range(size)]
        peers = [f"http://127.0.0.1:{ports[2 * i + 1]}" for i in range(size)]
        self.endpoints = [f"127.0.0.1:{ports[2 * i]}" for i in range(size)]
        initial = ",".join(f"{n}={p}" for n, p in zip(names, peers))
        self.endpoint = "ipv4:" + ",".join(self.endpoints)
        self._members = [_Process(name, [
            binary, "--name", name, "--data-dir", os.path.join(self.workdir, name),
            "--listen-client-urls", f"http://{client}", "--advertise-client-urls", f"http://{client}",
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", initial, "--initial-cluster-state", "new",
            "--experimental-watch-progress-notify-interval", PROGRESS_INTERVAL,
            "--log-level", "warn", "--logger", "zap",
        ], self.workdir) for name, client, peer in zip(names, self.endpoints, peers)]

    def start(self) -> None:
        for m in self._members:
            m.spawn()
        deadline = time.monotonic() + START_DEADLINE
        for m, client in zip(self._members, self.endpoints):
            try:
                wait_ready(client, deadline, m.proc, f"etcd {m.name}")
            except EtcdUnavailable as exc:
                raise EtcdUnavailable(f"{exc}; log {m.log_path}:\n{m.log_tail()}") from None
        _advance_revision(self.endpoints[0])

    def kill_and_restart_member(self, index: int) -> None:
        """SIGKILL member ``index``, start it again on its data directory and ports, and wait
        (at most :data:`START_DEADLINE`) until it answers a linearizable read: it has rejoined."""
        self.kill_member(index)
        self.restart_member(index)

    def member_pid(self, index: int) -> int | None:
        """The process id of member ``index`` (of ``setpriv``, which execs etcd), None while it is down."""
        proc = self._members[index].proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def kill_member(self, index: int) -> None:
        """SIGKILL member ``index`` and reap it; :meth:`restart_member` brings it back."""
        self._members[index].kill()

    def restart_member(self, index: int) -> None:
        """Start member ``index`` (killed before) on its data and ports; wait until it has rejoined."""
        m = self._members[index]
        m.spawn()
        try:
            wait_ready(self.endpoints[index], time.monotonic() + START_DEADLINE, m.proc, f"etcd {m.name}")
        except EtcdUnavailable as exc:
            raise EtcdUnavailable(f"{exc}; log {m.log_path}:\n{m.log_tail()}") from None

    def stop(self) -> None:
        for m in self._members:
            m.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


class ProxyProcess:
    """``etcd grpc-proxy start`` in front of an etcd, listening on a free loopback port."""

    def __init__(self, binary: str, backend_endpoint: str):
        self.workdir = tempfile.mkdtemp(prefix="listwatch-etcd-proxy-")
        (port,) = _free_ports(1)
        self.endpoint = f"127.0.0.1:{port}"
        self._process = _Process("grpc-proxy", [
            binary, "grpc-proxy", "start", "--endpoints", backend_endpoint,
            "--listen-addr", self.endpoint, "--data-dir", os.path.join(self.workdir, "data"),
        ], self.workdir)

    def start(self) -> None:
        self._process.spawn()
        try:
            wait_ready(self.endpoint, time.monotonic() + START_DEADLINE, self._process.proc, "etcd grpc-proxy")
        except EtcdUnavailable as exc:
            raise EtcdUnavailable(f"{exc}; log {self._process.log_path}:\n{self._process.log_tail()}") from None

    def stop(self) -> None:
        self._process.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


_lock = threading.Lock()
_user_endpoint: str | None = None
_local: EtcdProcess | None = None
_proxy: ProxyProcess | None = None
_cluster: EtcdCluster | None = None


def use_endpoint(url: str | None) -> None:
    """Use the etcd at ``url`` (``http://host:port`` or ``host:port``) instead of starting one."""
    global _user_endpoint
    _user_endpoint = url.split("://", 1)[-1].rstrip("/") if url else None


def user_endpoint() -> str | None:
    return _user_endpoint


def unavailable_reason() -> str | None:
    """Why the etcd backend cannot run here, or None if it can (an endpoint or a binary exists)."""
    if _user_endpoint is None and etcd_binary() is None:
        return ("no `etcd` binary on PATH: install etcd 3.4 (Debian: apt-get install -y etcd-server) "
                "or pass --etcd-endpoint URL")
    return None


def local_etcd() -> EtcdProcess:
    """The etcd this process started (starting it on first use)."""
    global _local
    with _lock:
        if _local is None:
            binary = etcd_binary()
            if binary is None:
                raise EtcdUnavailable(unavailable_reason())
            server = EtcdProcess(binary)
            try:
                server.start()
            except BaseException:
                server.stop()
                raise
            _local = server
            _stop_on_sigterm()
        return _local


def endpoint() -> str:
    """``host:port`` of the etcd the ``etcd`` backend uses."""
    return _user_endpoint or local_etcd().endpoint


def proxy_endpoint() -> str:
    """``host:port`` of a grpc-proxy in front of :func:`endpoint`'s etcd (started on first use)."""
    global _proxy
    target = endpoint()
    with _lock:
        if _proxy is None:
            binary = etcd_binary()
            if binary is None:
                raise EtcdUnavailable("the etcd-proxy backend needs the `etcd` binary (for `etcd grpc-proxy`)")
            proxy = ProxyProcess(binary, target)
            try:
                proxy.start()
            except BaseException:
                proxy.stop()
                raise
            _proxy = proxy
        return _proxy.endpoint


def _stop_on_sigterm() -> None:
    """Make SIGTERM (CI's timeout, a terminated job) end the run through KeyboardInterrupt, so
    pytest finishes and :func:`stop_all` removes the data; only if nobody else handles SIGTERM."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def interrupt(signum, frame):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            raise KeyboardInterrupt("SIGTERM")

        signal.signal(signal.SIGTERM, interrupt)


def cluster_endpoint() -> str:
    """A gRPC target naming every member of a three-member etcd cluster (started on first use)."""
    return local_cluster().endpoint


def local_cluster() -> EtcdCluster:
    """The three-member etcd cluster this process started (starting it on first use)."""
    global _cluster
    with _lock:
        if _cluster is None:
            binary = etcd_binary()
            if binary is None:
                raise EtcdUnavailable(unavailable_reason())
            cluster = EtcdCluster(binary)
            try:
                cluster.start()
            except BaseException:
                cluster.stop()
                raise
            _cluster = cluster
            _stop_on_sigterm()
        return _cluster


def stop_all() -> None:
    """Stop every process started here and remove their data; safe to call more than once."""
    global _local, _proxy, _cluster
    with _lock:
        proxy, local, cluster, _proxy, _local, _cluster = _proxy, _local, _cluster, None, None, None
    for p in (proxy, local, cluster):
        if p is not None:
            p.stop()


atexit.register(stop_all)
