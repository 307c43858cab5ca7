"""Backends under test: the contract (sut.api) and the built-in implementations."""
