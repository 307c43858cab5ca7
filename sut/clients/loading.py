"""Turning a ``--client`` value into an adapter factory, with errors a user can act on."""

from __future__ import annotations

from collections.abc import Callable

from listwatch_conformance.sut.clients.api import ClientCapabilities
from listwatch_conformance.sut.loading import resolve_named

_PACKAGE = "listwatch_conformance.sut.clients"
BUILTIN = {name: f"{_PACKAGE}.{target}" for name, target in {
    # the reference reflector (client-go's algorithm): a store, with the streaming list, and as an iterator
    "reflector": "reflector:reflector",
    "reflector-watch-list": "reflector:reflector_watch_list",
    "reflector-iterator": "reflector:reflector_iterator",
    # the official kubernetes client: its SharedInformer, and Watch.stream folded by the documented user code
    "kubernetes-informer": "official:shared_informer",
    "kubernetes-watch": "official:watch_stream",
    # the anchor: the machine's kubectl (a client-go Reflector behind `kubectl wait`), judged on its requests
    "kubectl-wait": "kubectl:kubectl_wait",
    "kubectl-wait-watch-list": "kubectl:kubectl_wait_watch_list",
    # the asyncio Python clients, each a raw iterator folded by its documented user code
    "kubernetes-asyncio": "k8s_asyncio:watch_stream",
    "kr8s": "kr8s_client:watch",
    "lightkube": "lightkube_client:watch",
    "lightkube-retry": "lightkube_client:watch_retry",
    # kopf's watching loop (a private entry point), plain and with its initial streaming
    "kopf": "kopf_watching:kopf_watch",
    "kopf-initial-streaming": "kopf_watching:kopf_watch_streaming",
    # @kubernetes/client-node's makeInformer in a node subprocess
    "client-node": "client_node:client_node",
}.items()}

CONTRACT_METHODS = ("start", "view", "stop")

USAGE = (
    "--client takes a built-in name ({names}) or MODULE:NAME, where MODULE is importable (on PYTHONPATH) "
    "and NAME() returns a fresh client adapter implementing sut/clients/api.py (capabilities, start, view, stop)."
)


class ClientSpecError(Exception):
    """A --client value that cannot give adapters; the message is one paragraph for the user."""


def _fail(problem: str) -> ClientSpecError:
    return ClientSpecError(f"{problem} {USAGE.format(names=', '.join(sorted(BUILTIN)))}")


def resolve_client(spec: str) -> Callable[[], object]:
    """The adapter factory named by ``spec`` (a built-in name or MODULE:NAME)."""
    return resolve_named(spec, option="--client", what="client", builtin=BUILTIN, fail=_fail)


def probe_client(spec: str, factory: Callable[[], object]) -> tuple[ClientCapabilities, dict[str, str]]:
    """Make one adapter (not started) and check its shape: its capabilities, name and version."""
    try:
        client = factory()
    except Exception as exc:  # noqa: BLE001 - reported as the factory's fault
        raise _fail(f"--client {spec!r}: calling the factory raised {type(exc).__name__}: {exc}.") from None
    missing = [m for m in CONTRACT_METHODS if not callable(getattr(client, m, None))]
    if missing:
        raise _fail(f"--client {spec!r}: the factory returned {type(client).__name__}, which lacks {', '.join(missing)}.")
    caps = getattr(client, "capabilities", None)
    if not isinstance(caps, ClientCapabilities):
        raise _fail(f"--client {spec!r}: client.capabilities is {caps!r}, not a "
                    "listwatch_conformance.sut.clients.api.ClientCapabilities.")
    info = {}
    for field in ("name", "version"):
        value = getattr(client, field, None)
        if value is not None and not isinstance(value, str):
            raise _fail(f"--client {spec!r}: client.{field} is {value!r}; it must be a str.")
        if value:
            info[field] = value
    return caps, info
