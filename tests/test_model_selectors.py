"""Specification tests for model/selectors.py: Kubernetes label and field selector semantics."""

from __future__ import annotations

import pytest

from listwatch_conformance.model.objects import Obj
from listwatch_conformance.model.selectors import Filter, SelectorError, parse_field_selector, parse_label_selector
from listwatch_conformance.properties.strategies import MALFORMED_FIELD_SELECTORS, MALFORMED_LABEL_SELECTORS


def obj(name: str = "a", ns: str = "ns1", **labels: str) -> Obj:
    return Obj(ns, name, labels, "v", 1001)


def sel(selector: str, **labels: str) -> bool:
    return Filter(label_selector=selector).matches(obj(**labels))


# --- label selector operators ---------------------------------------------------------

@pytest.mark.parametrize("selector", ["env=prod", "env==prod"])
def test_equality_matches_only_the_value(selector):
    assert sel(selector, env="prod")
    assert not sel(selector, env="dev")
    assert not sel(selector)  # absent label never equals


def test_not_equal_is_true_when_label_absent():
    assert sel("env!=prod", env="dev")
    assert not sel("env!=prod", env="prod")
    assert sel("env!=prod")  # absent
    assert sel("env!=prod", tier="web")  # other labels only


def test_in_matches_listed_values_only():
    assert sel("env in (prod,dev)", env="prod")
    assert sel("env in (prod,dev)", env="dev")
    assert not sel("env in (prod,dev)", env="qa")
    assert not sel("env in (prod,dev)")


def test_notin_is_true_when_label_absent():
    assert sel("env notin (prod,dev)", env="qa")
    assert not sel("env notin (prod,dev)", env="dev")
    assert sel("env notin (prod,dev)")


def test_exists_and_not_exists():
    assert sel("env", env="")
    assert sel("env", env="x")
    assert not sel("env", tier="x")
    assert sel("!env", tier="x")
    assert sel("!env")
    assert not sel("!env", env="x")


def test_empty_value_equality():
    assert sel("env=", env="")
    assert not sel("env=", env="x")
    assert not sel("env=")


def test_comma_is_and():
    s = "env=prod,tier!=db,team"
    assert sel(s, env="prod", team="x")
    assert sel(s, env="prod", tier="web", team="x")
    assert not sel(s, env="prod", tier="db", team="x")
    assert not sel(s, env="prod")
    assert not sel(s, env="dev", team="x")


@pytest.mark.parametrize("selector", ["", " ", "   "])
def test_empty_selector_matches_all(selector):
    assert parse_label_selector(selector) == ()
    assert sel(selector)
    assert sel(selector, env="prod")


def test_whitespace_is_insignificant():
    spaced = parse_label_selector("  env = prod ,  tier  in ( a , b ) , ! gone ,  k  notin(x)  ")
    tight = parse_label_selector("env=prod,tier in (a,b),!gone,k notin (x)")
    assert spaced == tight
    assert len(tight) == 4


def test_prefixed_keys():
    assert sel("example.com/app=web", **{"example.com/app": "web"})
    assert not sel("example.com/app=web", app="web")


@pytest.mark.parametrize("selector", [
    "env=prod,",             # trailing comma
    ",env=prod",             # leading comma
    "env=prod,,tier=web",    # empty requirement
    "env in (a,b",           # missing closing parenthesis
    "env in a,b)",           # missing opening parenthesis
    "env notin a",           # missing parenthesis
    "env in (a b)",          # missing comma in value list
    "-env=prod",             # key must start with an alphanumeric
    "_env=prod",
    "env-=prod",             # key must end with an alphanumeric
    "Example.com/env=prod",  # prefix must be a lower-case DNS subdomain
    "env@x=prod",            # bad character
    "env prod",              # no operator
    "env===prod",
    "!env=prod",             # !k takes no value
    "env=a/b",               # bad value
    "=prod",                 # no key
    "env=prod tier=web",     # missing comma
])
def test_malformed_label_selectors_raise(selector):
    with pytest.raises(SelectorError):
        parse_label_selector(selector)
    with pytest.raises(SelectorError):
        Filter(label_selector=selector)


def test_label_key_longer_than_63_characters_is_malformed():
    with pytest.raises(SelectorError):
        parse_label_selector("k" * 64 + "=v")


def test_label_value_longer_than_63_characters_is_malformed():
    with pytest.raises(SelectorError):
        parse_label_selector("k=" + "v" * 64)


def test_63_character_key_and_value_are_fine():
    assert sel("k" * 63 + "=" + "v" * 63, **{"k" * 63: "v" * 63})


# --- field selectors ------------------------------------------------------------------

@pytest.mark.parametrize("op", ["=", "=="])
def test_field_selector_name_equality(op):
    f = Filter(field_selector=f"metadata.name{op}a")
    assert f.matches(obj("a"))
    assert not f.matches(obj("b"))


def test_field_selector_name_inequality():
    f = Filter(field_selector="metadata.name!=a")
    assert not f.matches(obj("a"))
    assert f.matches(obj("b"))


@pytest.mark.parametrize("op,ns1,ns10", [("=", True, False), ("==", True, False), ("!=", False, True)])
def test_field_selector_namespace(op, ns1, ns10):
    f = Filter(field_selector=f"metadata.namespace{op}ns1")
    assert f.matches(obj(ns="ns1")) is ns1
    assert f.matches(obj(ns="ns10")) is ns10


def test_field_selector_terms_are_anded():
    f = Filter(field_selector="metadata.namespace=ns1,metadata.name!=a")
    assert f.matches(obj("b", "ns1"))
    assert not f.matches(obj("a", "ns1"))
    assert not f.matches(obj("b", "ns2"))


def test_field_selector_empty_matches_all():
    assert parse_field_selector("") == ()
    assert Filter(field_selector="").matches(obj())


@pytest.mark.parametrize("selector", [
    "spec.replicas=1", "metadata.labels=a", "metadata.uid=x", "status.phase=Running",
    "metadata.name", "metadata.name~a", "metadata.name=a,spec.x=1",
])
def test_unsupported_or_malformed_field_selectors_raise(selector):
    with pytest.raises(SelectorError):
        parse_field_selector(selector)
    with pytest.raises(SelectorError):
        Filter(field_selector=selector)


# --- the filter -----------------------------------------------------------------------

def test_namespace_scope_is_exact():
    f = Filter(namespace="ns1")
    assert f.matches(obj(ns="ns1"))
    assert not f.matches(obj(ns="ns10"))
    assert not f.matches(obj(ns="ns"))
    assert not f.matches(obj(ns="xns1"))
    assert f.in_scope(obj(ns="ns1"))
    assert not f.in_scope(obj(ns="ns10"))


def test_no_namespace_means_all_namespaces():
    f = Filter()
    assert f.matches(obj(ns="ns1")) and f.matches(obj(ns="ns10"))
    assert f.in_scope(obj(ns="anything"))


def test_filter_never_matches_absent_object():
    assert not Filter().matches(None)


def test_filter_combines_namespace_fields_and_labels():
    f = Filter(namespace="ns1", label_selector="env=prod", field_selector="metadata.name!=skip")
    assert f.matches(obj("a", "ns1", env="prod"))
    assert not f.matches(obj("a", "ns10", env="prod"))
    assert not f.matches(obj("skip", "ns1", env="prod"))
    assert not f.matches(obj("a", "ns1", env="dev"))


def test_absent_label_is_no_trap_for_does_not_exist():
    """`!env` is true for an absent label by definition; only != and notin are traps."""
    assert not Filter(label_selector="!env").absent_label_trap(obj())


@pytest.mark.parametrize("selector", ["env!=prod", "env notin (prod)"])
def test_absent_label_trap_for_negative_requirements(selector):
    f = Filter(label_selector=selector)
    assert f.absent_label_trap(obj())
    assert f.absent_label_trap(obj(tier="web"))
    assert not f.absent_label_trap(obj(env="dev"))
    assert not f.absent_label_trap(None)


@pytest.mark.parametrize("selector", ["", "env=prod", "env in (prod)", "env"])
def test_absent_label_trap_not_for_positive_requirements(selector):
    f = Filter(label_selector=selector)
    assert not f.absent_label_trap(obj())
    assert not f.absent_label_trap(obj(env="dev"))


@pytest.mark.parametrize("kind,selector", [*(("label", t) for t in MALFORMED_LABEL_SELECTORS),
                                           *(("field", t) for t in MALFORMED_FIELD_SELECTORS)])
def test_the_machines_malformed_selectors_do_not_parse(kind, selector):
    """The machine's malformed_selector rule expects a refusal for each of these: none may parse."""
    with pytest.raises(SelectorError):
        Filter(**{f"{kind}_selector": selector})
