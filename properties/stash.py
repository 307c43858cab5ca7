"""The pytest stash keys shared by the root conftest (which sets them) and listwatch_conformance.properties.plugin."""

import pytest

SUT_KEY = pytest.StashKey[tuple]()  # (--sut value, factory, capabilities)
BACKEND_INFO = pytest.StashKey[dict]()  # the backend's optional name and version
SELECTED = pytest.StashKey[frozenset]()  # the guarantees named with --guarantee (empty: all)
CLIENT_KEY = pytest.StashKey[tuple]()  # (--client value, factory, capabilities, info), or None without --client
CLIENT_SELECTED = pytest.StashKey[frozenset]()  # client guarantees named with --guarantee (empty: all)
