"""Turning a ``--client`` value into an adapter factory, with errors a user can act on."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from listwatch_conformance.sut.clients.api import ClientCapabilities

BUILTIN = {
    "reflector": "listwatch_conformance.sut.clients.reflector:reflector",
    "reflector-watch-list": "listwatch_conformance.sut.clients.reflector:reflector_watch_list",
    "kubernetes-informer": "listwatch_conformance.sut.clients.official:shared_informer",
    "kubernetes-watch": "listwatch_conformance.sut.clients.official:watch_stream",
}

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
    target = BUILTIN.get(spec, spec)
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise _fail(f"--client {spec!r} is neither a built-in client nor of the form MODULE:NAME.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _fail(f"--client {spec!r}: cannot import module {module_name!r} ({exc}).") from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed while importing
        raise _fail(f"--client {spec!r}: importing {module_name!r} raised {type(exc).__name__}: {exc}.") from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise _fail(f"--client {spec!r}: module {module_name!r} has no attribute {attr!r}.")
    if not callable(factory):
        raise _fail(f"--client {spec!r}: {module_name}.{attr} is a {type(factory).__name__}, not callable.")
    return factory


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

BUILTIN.update({  # kopf's watching loop (sut/clients/kopf_watching.py)
    "kopf": "listwatch_conformance.sut.clients.kopf_watching:kopf_watch",
    "kopf-initial-streaming": "listwatch_conformance.sut.clients.kopf_watching:kopf_watch_streaming",
})

BUILTIN.update({  # @kubernetes/client-node's makeInformer in a node subprocess (sut/clients/client_node.py)
    "client-node": "listwatch_conformance.sut.clients.client_node:client_node",
})
