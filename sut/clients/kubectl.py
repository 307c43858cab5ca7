"""kubectl as a client under test: the anchor, a current client-go Reflector (kubectl v1.32.4 here).

``kubectl wait --for=jsonpath='{.data.value}'=done configmap/NAME -n NS`` (documented in
``kubectl wait --help`` and https://kubernetes.io/docs/reference/kubectl/generated/kubectl_wait/)
first reads the object (``GET .../configmaps/NAME``), then syncs an informer on it through
``watchtools.UntilWithSync``: a client-go Reflector that lists and watches
``fieldSelector=metadata.name=NAME`` until the condition holds (kubectl's
``pkg/cmd/wait/condition.go``, ``getObjAndCheckCondition``). The suite's values are never
``done``, so it keeps watching until stopped. With ``KUBE_FEATURE_WatchListClient=true`` in its
environment client-go uses the streaming list (``sendInitialEvents``).

What the adapters are:

- :func:`kubectl_wait` (short name ``kubectl-wait``) and :func:`kubectl_wait_watch_list`
  (``kubectl-wait-watch-list``, the streaming list on). kubectl prints only the outcome, so its
  view cannot be observed (``capabilities.observable_view`` False): the suite judges its requests
  (``REQUEST_LEVEL`` in ``model/client_guarantees.py``). It waits on ConfigMap ``a`` in the
  namespace the suite gives, or in ``a`` when it gives all namespaces (kubectl cannot wait on a
  name across namespaces); label selectors are not passed (kubectl refuses a name with ``-l``).
- User restarts: kubectl wait exits with an error when the object is missing (the GET's 404, or
  ``NotFound`` from UntilWithSync's precondition at its first sync). A script that waits for a
  ConfigMap runs it again: the adapter does, :data:`RESTART_PAUSE` after each exit, and every run
  is a fresh process (a fresh Reflector: a list at RV "0" again).
- Backoff: client-go's, not configurable from kubectl: 800 ms doubling to a 30 s cap with jitter
  1.0 (so up to 60 s), reset after 2 min without one (``tools/cache/reflector.go``). The suite's
  waits for its next request scale with ``max_backoff``.

``$LISTWATCH_KUBECTL`` names another kubectl binary (Debian's kubectl 1.20, unpacked with
``apt-get download kubernetes-client``, is an older client-go data point); before 1.23 the
adapter waits for ``--for=condition=done``, since ``--for=jsonpath`` came in 1.23.

Each adapter works in its own temporary directory (a throwaway kubeconfig naming the server, and
kubectl's ``--cache-dir``), so nothing is written to the user's home; :func:`kubectl_flags` gives
the same to tests that run kubectl by hand.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from listwatch_conformance.sut.clients.api import ClientCapabilities, ClientView

NAME = "a"  # the ConfigMap kubectl waits on: the suite's first name, where shrinking lands
RESTART_PAUSE = 0.5  # a user's retry loop: `until kubectl wait ...; do sleep 0.5; done`
WAIT_TIMEOUT = "1h"  # kubectl's own --timeout; the adapter stops it long before
STOP_GRACE = 1.5  # SIGTERM, then SIGKILL after this long (three waits stay within stop()'s 5 s)


def kubectl_path() -> str | None:
    """The kubectl to run: ``$LISTWATCH_KUBECTL`` (e.g. an older one unpacked elsewhere), else the
    one on PATH; None when there is none."""
    return shutil.which(os.environ.get("LISTWATCH_KUBECTL") or "kubectl")


@functools.cache
def kubectl_version() -> str:
    """``kubectl version --client``'s gitVersion (e.g. ``v1.32.4``), or why there is none."""
    path = kubectl_path()
    if path is None:
        return "not installed"
    try:
        out = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True,
                             timeout=20, check=True).stdout
        return json.loads(out)["clientVersion"]["gitVersion"]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:
        return f"unknown ({type(exc).__name__})"


def kubectl_flags(url: str, directory: str | os.PathLike) -> list[str]:
    """kubectl's global flags for a throwaway setup in ``directory``: a kubeconfig naming ``url``
    (no auth, no TLS) and the discovery/HTTP cache there, never in the user's ``~/.kube``."""
    directory = Path(directory)
    config = directory / "kubeconfig"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "suite",
        "clusters": [{"name": "suite", "cluster": {"server": url}}],
        "contexts": [{"name": "suite", "context": {"cluster": "suite", "user": "suite"}}],
        "users": [{"name": "suite", "user": {}}],
    }))
    return ["--kubeconfig", str(config), "--cache-dir", str(directory / "cache")]


def wait_argv(url: str, directory: str | os.PathLike, namespace: str, name: str = NAME,
              timeout: str = WAIT_TIMEOUT) -> list[str]:
    """The ``kubectl wait`` command line for ConfigMap ``namespace/name`` to reach value ``done``.

    kubectl before 1.23 has no ``--for=jsonpath``: it waits for ``condition=done`` instead, which a
    ConfigMap never has (the same informer, through ``watchtools.UntilWithSync``)."""
    minor = re.match(r"v1\.(\d+)\.", kubectl_version())
    condition = "condition=done" if minor and int(minor.group(1)) < 23 else "jsonpath={.data.value}=done"
    return [kubectl_path() or "kubectl", *kubectl_flags(url, directory), "wait",
            f"--for={condition}", f"configmap/{name}", "-n", namespace, f"--timeout={timeout}"]


class KubectlWait:
    """``kubectl wait`` on one ConfigMap, restarted after each exit as a user's script would."""

    def __init__(self, *, watch_list: bool = False) -> None:
        if kubectl_path() is None:  # --client kubectl-wait then fails as a usage error naming this
            raise RuntimeError("kubectl is not installed: not on PATH (Debian package kubectl), nor named by "
                               "$LISTWATCH_KUBECTL")
        self.watch_list = watch_list
        self.name = "kubectl wait" + (" (WatchListClient)" if watch_list else "")
        self.version = kubectl_version()
        self.capabilities = ClientCapabilities(cache=True, lists=True, bookmarks=True, watch_list=watch_list,
                                               user_restarts=True, max_backoff=60.0, observable_view=False)
        self.runs = 0  # kubectl processes started
        self.exits: list[tuple[int, str]] = []  # (exit status, last stderr line) of each run that ended
        self._dir: str | None = None
        self._proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self, url: str, namespace: str | None, label_selector: str) -> None:
        self._dir = tempfile.mkdtemp(prefix="lwc-kubectl-")
        env = dict(os.environ)
        env.pop("KUBECONFIG", None)
        if self.watch_list:
            env["KUBE_FEATURE_WatchListClient"] = "true"
        argv = wait_argv(url, self._dir, namespace or "a")
        self._thread = threading.Thread(target=self._supervise, args=(argv, env), name="kubectl-wait", daemon=True)
        self._thread.start()

    def _supervise(self, argv: list[str], env: dict[str, str]) -> None:
        """Run kubectl wait, again after every exit (RESTART_PAUSE later), until stop()."""
        try:
            while not self._stopping.is_set():
                stderr_path = Path(self._dir) / f"stderr-{self.runs}"
                with self._lock, open(stderr_path, "wb") as stderr:
                    if self._stopping.is_set():
                        return
                    self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                  stderr=stderr, env=env)
                    self.runs += 1
                status = self._proc.wait()
                lines = stderr_path.read_text(errors="replace").strip().splitlines()
                self.exits.append((status, lines[-1] if lines else ""))
                self._stopping.wait(RESTART_PAUSE)
        except BaseException as exc:  # noqa: BLE001 - reported through view().error
            self._error = exc

    def view(self) -> ClientView:
        thread = self._thread
        alive = thread is not None and thread.is_alive() and not self._stopping.is_set()
        return ClientView(rv=None, objects={}, synced=False, alive=alive, error=self._error)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_GRACE)
        if self._thread is not None:
            self._thread.join(STOP_GRACE)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


def kubectl_wait() -> KubectlWait:
    """``--client kubectl-wait``: kubectl wait, client-go's default list then watch."""
    return KubectlWait()


def kubectl_wait_watch_list() -> KubectlWait:
    """``--client kubectl-wait-watch-list``: kubectl wait with ``KUBE_FEATURE_WatchListClient=true``."""
    return KubectlWait(watch_list=True)
