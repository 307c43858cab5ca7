"""Starting and stopping our server (``python -m listwatch_conformance.sut.kube serve``) as a child process.

``start_server(spec)`` returns once the server answers ``/healthz``, or raises
:class:`ServerStartError` (with the child's stderr) when it does not within ``deadline``
seconds; the child is killed in that case. ``ServerProcess.stop()`` sends SIGTERM, waits a
bounded time, then SIGKILLs. Use it as a context manager so it stops on failure too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path


class ServerStartError(RuntimeError):
    """Our server did not come up; the message carries its stderr."""


class ServerProcess:
    def __init__(self, proc: subprocess.Popen, url: str, stderr_path: str):
        self.proc, self.url, self._stderr_path = proc, url, stderr_path

    def stderr(self) -> str:
        try:
            return Path(self._stderr_path).read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, grace: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(grace)
        if self.proc.stdout:
            self.proc.stdout.close()
        try:
            os.unlink(self._stderr_path)
        except OSError:
            pass

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(spec: str = "memory", *, host: str = "127.0.0.1", port: int = 0, deadline: float = 30.0,
                 extra_args: tuple[str, ...] = ()) -> ServerProcess:
    """Start ``python -m listwatch_conformance.sut.kube serve --sut spec`` and wait (bounded) until it serves."""
    fd, stderr_path = tempfile.mkstemp(prefix="lwc-kube-server-", suffix=".log")
    env = dict(os.environ)
    # the child imports what this process imports: the suite (installed or a checkout) and the
    # module BACKEND names, which may be importable here only through what pytest put on sys.path
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "listwatch_conformance.sut.kube", "serve", "--sut", spec, "--host", host, "--port", str(port), *extra_args],
        stdout=subprocess.PIPE, stderr=fd, stdin=subprocess.DEVNULL, env=env)
    os.close(fd)
    server = ServerProcess(proc, "", stderr_path)
    try:
        server.url = _read_url(proc, deadline)
        _wait_healthy(server, time.monotonic() + deadline)
    except BaseException as exc:
        detail = server.stderr()
        server.stop()
        if isinstance(exc, ServerStartError):
            raise ServerStartError(f"{exc}\n--- server stderr ---\n{detail}") from None
        raise
    return server


def _read_url(proc: subprocess.Popen, deadline: float) -> str:
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(deadline)
    text = line[0].decode().strip() if line else ""
    if not text.startswith("listening on "):
        raise ServerStartError(f"python -m listwatch_conformance.sut.kube serve did not report its address within {deadline:.0f}s "
                               f"(exit code {proc.poll()}, said {text!r})")
    return text.removeprefix("listening on ")


def _wait_healthy(server: ServerProcess, until: float) -> None:
    while True:
        if server.proc.poll() is not None:
            raise ServerStartError(f"our server exited with code {server.proc.returncode}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > until:
            raise ServerStartError(f"our server at {server.url} did not answer /healthz in time")
        time.sleep(0.05)
