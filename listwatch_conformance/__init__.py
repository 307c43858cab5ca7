"""listwatch-conformance: a property-based conformance suite for Kubernetes-style list-watch semantics.

The repository's top-level folders are this package's subpackages (see pyproject.toml):
``listwatch_conformance.model`` (the executable specification), ``listwatch_conformance.sut``
(the backend contract and backends) and ``listwatch_conformance.properties`` (the state machines).
One distinct top-level name keeps them apart from a user's own ``model`` or ``properties``.
The pytest plugin (:mod:`listwatch_conformance.plugin`) is registered through the ``pytest11``
entry point, so ``pytest --pyargs listwatch_conformance.properties --sut MODULE:NAME`` (or the
console script, ``listwatch-conformance --sut MODULE:NAME``) works from any directory once the
package is installed.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("listwatch-conformance")
except PackageNotFoundError:  # pragma: no cover - a checkout that was never installed
    __version__ = "0+unknown"
