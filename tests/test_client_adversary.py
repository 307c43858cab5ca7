"""The adversary's discovery is what real clients need: kubectl (v1.32 here) lists through it."""

import shutil
import subprocess
import threading

import pytest

from listwatch_conformance.sut.clients.adversary import Adversary
from listwatch_conformance.sut.clients.kubectl import kubectl_flags
from listwatch_conformance.sut.kube import wire


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_get_configmaps_through_the_adversary(tmp_path):
    adversary = Adversary()
    url = adversary.start()
    done = threading.Event()

    def answer_honestly() -> None:
        while not done.is_set():
            request = adversary.next_request(0.1)
            if request is None:
                continue
            if request.kind == "list":
                adversary.reply(request, 200, {"kind": "ConfigMapList", "apiVersion": "v1",
                                               "metadata": {"resourceVersion": "5"},
                                               "items": [wire.configmap("a", "x", {}, "v", 3)]})
            else:
                adversary.open_stream(request).end()

    answering = threading.Thread(target=answer_honestly, name="answer-honestly", daemon=True)
    answering.start()
    try:
        result = subprocess.run(["kubectl", *kubectl_flags(url, tmp_path), "get", "configmaps", "-A"],
                                capture_output=True, text=True, timeout=30)
    finally:
        done.set()
        answering.join(5)
        adversary.stop()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["NAMESPACE", "NAME", "AGE"] and "x" in result.stdout.split()
    paths = [r.path for r in adversary.requests]
    assert {"/version", "/api", "/api/v1"} <= set(paths), paths
