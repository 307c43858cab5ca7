"""Backends under test: the contract (listwatch_conformance.sut.api) and the built-in implementations."""
