"""optgrad.tree.get, set and get_all_with_path on nested optimizer states."""

from typing import NamedTuple

import equinox_like
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode

import optgrad


class Inner(NamedTuple):
    count: object
    lr: object


class Outer(NamedTuple):
    count: object
    inner: object


def _states():
    """The same injected Adam state built by optgrad and by optax."""
    params = {"w": jnp.ones(2), "b": jnp.zeros(1)}
    ours = optgrad.inject_hyperparams(optgrad.adam)(
        learning_rate=optgrad.linear_schedule(0.1, 0.0, 10), b1=0.8
    ).init(params)
    with reference_mode():
        theirs = optax.inject_hyperparams(optax.adam)(
            learning_rate=optax.linear_schedule(0.1, 0.0, 10), b1=0.8
        ).init(params)
    return ours, theirs


def _paths(found):
    return [jax.tree_util.keystr(path) for path, _ in found]


@pytest.mark.parametrize(
    "key",
    [
        "count",
        "learning_rate",
        "mu",
        "ScaleByAdamState",
        "WrappedScheduleState",
        "hyperparams",
        "missing",
    ],
)
def test_get_all_with_path_matches_optax(key):
    ours, theirs = _states()
    found = optgrad.tree.get_all_with_path(ours, key)
    expected = optax.tree.get_all_with_path(theirs, key)
    assert _paths(found) == _paths(expected)
    for (_, value), (_, want) in zip(found, expected, strict=True):
        # The NamedTuple classes differ between the libraries; the leaves agree.
        assert type(value).__name__ == type(want).__name__
        values, wants = jax.tree.leaves(value), jax.tree.leaves(want)
        assert len(values) == len(wants)
        for leaf, want_leaf in zip(values, wants, strict=True):
            np.testing.assert_allclose(leaf, want_leaf)


def test_get_all_with_path_nested_order_matches_optax():
    tree = ({"lr": {"lr": 1.0}}, {"lr": 2.0}, Inner(count=3, lr=None))
    found = optgrad.tree.get_all_with_path(tree, "lr")
    assert _paths(found) == _paths(optax.tree.get_all_with_path(tree, "lr"))
    assert _paths(found) == [
        "[0]['lr']",
        "[1]['lr']",
        "[2]Inner.lr",
        "[0]['lr']['lr']",
    ]
    assert found[2][1] is None


def test_get_all_with_path_filtering():
    ours, _ = _states()
    found = optgrad.tree.get_all_with_path(
        ours,
        "count",
        lambda path, value: (
            path[-1] == optgrad.tree.NamedTupleKey("ScaleByAdamState", "count")
        ),
    )
    assert _paths(found) == [
        "InjectStatefulHyperparamsState.inner_state[0]ScaleByAdamState.count"
    ]


def test_get_returns_the_single_match():
    ours, _ = _states()
    assert float(optgrad.tree.get(ours, "b1")) == pytest.approx(0.8)
    adam_state = optgrad.tree.get(ours, "ScaleByAdamState")
    assert isinstance(adam_state, optgrad.ScaleByAdamState)


def test_get_returns_default_when_missing():
    ours, _ = _states()
    assert optgrad.tree.get(ours, "missing") is None
    assert optgrad.tree.get(ours, "missing", default=7) == 7


def test_get_raises_for_several_matches():
    ours, _ = _states()
    with pytest.raises(KeyError, match=r"3 entries are named 'count'.*filtering"):
        optgrad.tree.get(ours, "count")


def test_get_with_filtering_picks_one():
    ours, _ = _states()
    count = optgrad.tree.get(
        ours, "count", filtering=lambda path, value: len(path) == 1
    )
    assert int(count) == 0


def test_set_replaces_hyperparameter_like_optax():
    ours, theirs = _states()
    new = jnp.float32(0.5)
    updated = optgrad.tree.set(ours, b1=new)
    expected = optax.tree.set(theirs, b1=new)
    assert updated.hyperparams["b1"] is new
    assert expected.hyperparams["b1"] is new
    # The input is unchanged.
    assert float(ours.hyperparams["b1"]) == pytest.approx(0.8)
    assert jax.tree.structure(updated) == jax.tree.structure(ours)


def test_set_with_filtering():
    ours, _ = _states()
    updated = optgrad.tree.set(
        ours,
        lambda path, value: isinstance(value, jax.Array),
        learning_rate=jnp.float32(0.25),
    )
    assert float(updated.hyperparams["learning_rate"]) == 0.25
    # The schedule state of the same name is not an array, so it stays.
    assert (
        updated.hyperparams_states["learning_rate"]
        is (ours.hyperparams_states["learning_rate"])
    )


def test_set_replaces_a_named_tuple_by_class_name():
    ours, _ = _states()
    adam_state = optgrad.tree.get(ours, "ScaleByAdamState")
    replacement = adam_state._replace(count=jnp.int32(5))
    updated = optgrad.tree.set(ours, ScaleByAdamState=replacement)
    assert int(updated.inner_state[0].count) == 5
    assert int(updated.count) == 0


def test_set_replaces_every_match():
    tree = {"lr": 1.0, "sub": {"inner": {"lr": 2.0}}, "other": [Inner(0, 3.0)]}
    updated = optgrad.tree.set(tree, lr=9.0)
    # optax 0.2.8 leaves sub.inner.lr at 2.0 although get_all_with_path finds it.
    assert updated == {
        "lr": 9.0,
        "sub": {"inner": {"lr": 9.0}},
        "other": [Inner(0, 9.0)],
    }


def test_set_outer_match_wins():
    tree = {"a": {"a": 1.0}}
    assert optgrad.tree.set(tree, a=2.0) == {"a": 2.0}


def test_set_keeps_none_and_empty_subtrees():
    tree = Outer(count=None, inner={"x": (), "lr": jnp.ones(1), "y": None})
    updated = optgrad.tree.set(tree, lr=jnp.zeros(1))
    assert updated.count is None
    assert updated.inner["x"] == ()
    assert updated.inner["y"] is None
    np.testing.assert_array_equal(updated.inner["lr"], [0.0])


def test_set_inside_custom_pytree_node():
    tree = equinox_like.CallableMask(a={"lr": 1.0}, b=Inner(0, 2.0))
    updated = optgrad.tree.set(tree, lr=5.0)
    assert isinstance(updated, equinox_like.CallableMask)
    assert updated["a"] == {"lr": 5.0}
    assert updated["b"] == Inner(0, 5.0)


def test_set_raises_for_missing_key():
    ours, _ = _states()
    with pytest.raises(KeyError, match=r"no entry named 'lr'.*learning_rate"):
        optgrad.tree.set(ours, lr=0.1)


def test_set_raises_when_filtering_matches_nothing():
    ours, _ = _states()
    with pytest.raises(KeyError, match=r"'learning_rate' that passes the filtering"):
        optgrad.tree.set(ours, lambda path, value: False, learning_rate=0.1)


def test_set_raises_when_two_names_hit_one_entry():
    tree = Outer(count=0, inner=Inner(1, 2.0))
    with pytest.raises(ValueError, match=r"'inner' and 'Inner' both name"):
        optgrad.tree.set(tree, inner=None, Inner=None)


def test_set_without_kwargs_returns_tree():
    tree = {"a": 1}
    assert optgrad.tree.set(tree) is tree


def test_named_tuple_key_formats_like_optax():
    key = optgrad.tree.NamedTupleKey("ScaleByAdamState", "mu")
    assert str(key) == str(optax.tree_utils.NamedTupleKey("ScaleByAdamState", "mu"))
    assert jax.tree_util.keystr((key, jax.tree_util.DictKey("w"))) == (
        "ScaleByAdamState.mu['w']"
    )
