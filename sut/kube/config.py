"""How the kube backend reaches its server: URL and credentials, or a kubeconfig.

``KUBE`` is the process-wide setting ``--sut kube`` backends are made from; the pytest
plugin fills it from ``--kube-*`` options, and each field also has an environment
variable (``LISTWATCH_KUBE_URL``, ``LISTWATCH_KUBE_TOKEN``, ``LISTWATCH_KUBE_CA_FILE``,
``KUBECONFIG``, ``LISTWATCH_KUBE_CONTEXT``) so a factory works outside pytest too.

``connection_params()`` turns the settings into (base URL, headers, TLS options) without
opening anything; a kubeconfig is read with the official client's loader, so exec
plugins, client certificates and tokens work as they do for kubectl.
"""

from __future__ import annotations

import os
from typing import Any

import attrs


class KubeConfigError(Exception):
    """The kube backend was asked for but not told where the server is; the message says how."""


@attrs.define
class KubeSettings:
    url: str | None = attrs.field(factory=lambda: os.environ.get("LISTWATCH_KUBE_URL") or None)
    token: str | None = attrs.field(factory=lambda: os.environ.get("LISTWATCH_KUBE_TOKEN") or None)
    ca_file: str | None = attrs.field(factory=lambda: os.environ.get("LISTWATCH_KUBE_CA_FILE") or None)
    kubeconfig: str | None = None  # a path; KUBECONFIG is used only when asked for with use_kubeconfig
    context: str | None = attrs.field(factory=lambda: os.environ.get("LISTWATCH_KUBE_CONTEXT") or None)
    # Our own server only: use the non-Kubernetes /listwatch-conformance/v1 endpoints for
    # capabilities, compact() and request_progress().
    extensions: bool = False
    # Our server only (needs extensions): every backend instance starts by asking the server for a
    # fresh, empty store (POST .../reset), as --sut gives in process; instances must not overlap.
    fresh_store: bool = False
    # Capabilities the API cannot reveal; for a real cluster the defaults are the safe side.
    history: int = 0
    initial_events: bool = True  # WatchList (sendInitialEvents) is behind a feature gate on old clusters
    request_timeout: float = 30.0  # per unary request
    watch_seconds: int = 3600  # timeoutSeconds sent with every watch

    def connection_params(self) -> tuple[str, dict[str, str], dict[str, Any]]:
        """(base URL, extra headers, urllib3 PoolManager TLS keyword arguments)."""
        if self.url:
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": self.ca_file} if self.ca_file else {}
            return self.url.rstrip("/"), headers, tls
        if self.kubeconfig:
            return _from_kubeconfig(self.kubeconfig, self.context)
        raise KubeConfigError(
            "--sut kube needs a server: pass --kube-url URL (with --kube-token/--kube-ca-file as needed), "
            "--kubeconfig PATH [--kube-context NAME], or --kube-serve BACKEND to start our own server; "
            "or set LISTWATCH_KUBE_URL")


def _from_kubeconfig(path: str, context: str | None) -> tuple[str, dict[str, str], dict[str, Any]]:
    try:
        from kubernetes import client, config
    except ImportError:
        raise KubeConfigError("--kubeconfig needs the 'kubernetes' package (pip install kubernetes)") from None
    cfg = client.Configuration()
    try:
        config.load_kube_config(config_file=os.path.expanduser(path), context=context, client_configuration=cfg)
    except Exception as exc:  # noqa: BLE001 - the loader raises many kinds; the user needs the text
        raise KubeConfigError(f"cannot load kubeconfig {path!r} (context {context!r}): {exc}") from None
    headers = {}
    auth = cfg.get_api_key_with_prefix("authorization") if cfg.api_key else None
    if auth:
        headers["Authorization"] = auth
    tls: dict[str, Any] = {}
    if cfg.host.startswith("https"):
        tls["cert_reqs"] = "CERT_REQUIRED" if cfg.verify_ssl else "CERT_NONE"
        if cfg.ssl_ca_cert:
            tls["ca_certs"] = cfg.ssl_ca_cert
        if cfg.cert_file:
            tls["cert_file"] = cfg.cert_file
        if cfg.key_file:
            tls["key_file"] = cfg.key_file
    return cfg.host.rstrip("/"), headers, tls


KUBE = KubeSettings()
