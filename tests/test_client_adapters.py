"""Adapters pass the client exactly what the machine started it on: every label selector form the
machine draws reaches the server, as the library encodes it, with the same meaning."""

import pytest

from listwatch_conformance.model.selectors import parse_label_selector
from listwatch_conformance.properties.client_machine import SELECTORS, client_machine
from listwatch_conformance.sut.clients.loading import resolve_client

pytest.importorskip("lightkube", reason="lightkube is not installed (pip install -e .[clients])")


@pytest.mark.parametrize("selector", [s for s in SELECTORS if s])
def test_lightkube_lists_with_the_selector_it_was_started_on(selector):
    """lightkube takes ``labels`` as pairs of key and operator, not a selector string: an adapter that
    split the string on "=" raised ValueError for ``x`` and ``x in (0)`` before its first request."""
    state = client_machine(resolve_client("lightkube"))()
    try:
        state.start(namespace=None, label_selector=selector, objects=[])
        request = state.pending
        assert request is not None and request.kind == "list", (
            f"StaysAlive: no list for selector {selector!r}: {state._view().error!r}")
        assert parse_label_selector(request.query.get("labelSelector", "")) == parse_label_selector(selector)
        state.respond(stale=0, order="ascending")
    finally:
        state.teardown()
