"""Turning a ``--sut`` value into a backend factory, with errors a user can act on."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from listwatch_conformance.sut.api import Capabilities

BUILTIN = {
    "memory": "listwatch_conformance.sut.memory:MemoryBackend",
    "kube": "listwatch_conformance.sut.kube.client:KubeBackend",
    "etcd": "listwatch_conformance.sut.etcd:etcd_backend",
    "etcd-proxy": "listwatch_conformance.sut.etcd:etcd_proxy_backend",
    "etcd-cluster": "listwatch_conformance.sut.etcd:etcd_cluster_backend",
}

CONTRACT_METHODS = ("create", "update", "delete", "list", "watch", "compact", "request_progress", "close")

USAGE = (
    "--sut takes a built-in name ({names}) or MODULE:NAME, where MODULE is importable (on PYTHONPATH, "
    "or in the current directory) "
    "and NAME() returns a fresh, empty backend implementing sut/api.py."
)


class SutError(Exception):
    """A --sut value that cannot give backends; the message is one paragraph for the user."""


def _fail(problem: str) -> SutError:
    return SutError(f"{problem} {USAGE.format(names=', '.join(sorted(BUILTIN)))}")


def resolve_factory(spec: str) -> Callable[[], object]:
    """The factory named by ``spec`` (a built-in name or MODULE:NAME)."""
    return resolve_named(spec, option="--sut", what="backend", builtin=BUILTIN, fail=_fail)


def resolve_named(spec: str, *, option: str, what: str, builtin: Mapping[str, str],
                  fail: Callable[[str], Exception]) -> Callable[[], object]:
    """The callable that ``option``'s value ``spec`` names: a key of ``builtin`` or MODULE:NAME.

    Shared by ``--sut`` and ``--client``; ``fail(problem)`` makes the one-paragraph error (the
    problem, then the option's usage)."""
    target = builtin.get(spec, spec)
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise fail(f"{option} {spec!r} is neither a built-in {what} nor of the form MODULE:NAME.")
    _refuse_bare_own_name(spec, module_name, attr, option, fail)
    try:
        module = _import_here_too(module_name)
    except ImportError as exc:
        raise fail(f"{option} {spec!r}: cannot import module {module_name!r} ({exc}).") from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed while importing
        raise fail(f"{option} {spec!r}: importing {module_name!r} raised {type(exc).__name__}: {exc}.") from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise fail(f"{option} {spec!r}: module {module_name!r} has no attribute {attr!r}.")
    if not callable(factory):
        raise fail(f"{option} {spec!r}: {module_name}.{attr} is a {type(factory).__name__}, not callable.")
    return factory


def _import_here_too(module_name: str):
    """Import ``module_name``; failing that, with the current directory at the end of sys.path.

    ``python -m pytest`` has the current directory on sys.path, the ``pytest`` and
    ``listwatch-conformance`` scripts do not: a user's ``mystore.py`` beside them is found either
    way. Appended, the directory never shadows an installed package."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        here = os.getcwd()
        if exc.name != module_name.partition(".")[0] or here in sys.path:
            raise
        sys.path.append(here)
        try:
            return importlib.import_module(module_name)
        except ImportError:
            sys.path.remove(here)
            raise


def _refuse_bare_own_name(spec: str, module_name: str, attr: str, option: str,
                          fail: Callable[[str], Exception]) -> None:
    """``sut.mutants:X`` in a checkout (where the checkout is on sys.path) would import this suite's
    own folder a second time under its folder name: a second copy of every module beside
    ``listwatch_conformance.sut``, with its own classes and its own started servers."""
    top, _, rest = module_name.partition(".")
    if top not in ("model", "sut", "properties"):
        return
    try:
        found = importlib.util.find_spec(top)  # finds the folder without importing it
    except (ImportError, ValueError):
        return
    if found is None or not found.submodule_search_locations:
        return
    own = importlib.import_module(f"listwatch_conformance.{top}")
    if {Path(p).resolve() for p in found.submodule_search_locations} & {Path(p).resolve() for p in own.__path__}:
        right = f"listwatch_conformance.{module_name}:{attr}"
        raise fail(f"{option} {spec!r} names this suite's own folder {top}/ by its folder name; the suite's "
                   f"modules are imported as listwatch_conformance.{top}, so write {option} {right}.")


def probe_capabilities(spec: str, factory: Callable[[], object]) -> Capabilities:
    """Make one backend, check it has the contract's shape, read its capabilities, close it."""
    return probe_backend(spec, factory)[0]


def probe_backend(spec: str, factory: Callable[[], object]) -> tuple[Capabilities, dict[str, str]]:
    """Make one backend, check it has the contract's shape, close it: its capabilities, and its
    optional ``name`` and ``version`` (strings, for the conformance report)."""
    try:
        backend = factory()
    except Exception as exc:  # noqa: BLE001 - reported as the factory's fault
        raise _fail(f"--sut {spec!r}: calling the factory raised {type(exc).__name__}: {exc}.") from None
    try:
        missing = [m for m in CONTRACT_METHODS if not callable(getattr(backend, m, None))]
        if missing:
            raise _fail(f"--sut {spec!r}: the factory returned {type(backend).__name__!s}, which lacks "
                        f"{', '.join(missing)}.")
        caps = getattr(backend, "capabilities", None)
        if not isinstance(caps, Capabilities):
            raise _fail(f"--sut {spec!r}: backend.capabilities is {caps!r}, not a listwatch_conformance.sut.api.Capabilities.")
        info = {}
        for field in ("name", "version"):
            try:
                value = getattr(backend, field, None)
            except Exception as exc:  # noqa: BLE001 - a property of the user's backend failed
                raise _fail(f"--sut {spec!r}: reading backend.{field} raised {type(exc).__name__}: {exc}.") from None
            if value is not None and not isinstance(value, str):
                raise _fail(f"--sut {spec!r}: backend.{field} is {value!r}; if given, it must be a str.")
            if value:
                info[field] = value
        return caps, info
    finally:
        close = getattr(backend, "close", None)
        if callable(close):
            try:
                close()
            except Exception as exc:  # noqa: BLE001
                raise _fail(f"--sut {spec!r}: backend.close() raised {type(exc).__name__}: {exc}.") from None
