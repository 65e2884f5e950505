import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optgrad


def _scale(factor):
    return optgrad.stateless(lambda u, p: {k: v * factor for k, v in u.items()})


def test_chain_applies_in_order():
    add_one = optgrad.stateless(lambda u, p: {k: v + 1 for k, v in u.items()})
    tx = optgrad.chain(add_one, _scale(2.0))
    updates, state = tx.update({"a": jnp.zeros(2)}, tx.init({"a": jnp.zeros(2)}))
    np.testing.assert_array_equal(updates["a"], [2.0, 2.0])
    assert len(state) == 2


def test_chain_forwards_extra_args():
    seen = {}

    def update_fn(updates, state, params=None, **extra):
        seen.update(extra)
        return updates, state

    member = optgrad.GradientTransformationExtraArgs(
        optgrad.init_empty_state, update_fn
    )
    tx = optgrad.chain(optgrad.identity(), member)
    tx.update({"a": jnp.ones(1)}, tx.init(None), None, value=2.0)
    assert seen == {"value": 2.0}


def test_chain_rejects_uncalled_factory():
    with pytest.raises(TypeError, match="argument 0 is function"):
        optgrad.chain(optgrad.identity)


def test_chain_rejects_string_member():
    with pytest.raises(TypeError, match=r"argument 1 is str 'sgd'.*optgrad\.adam\("):
        optgrad.chain(optgrad.identity(), "sgd")


def test_chain_turns_python_numbers_into_arrays():
    seen = []

    def record(updates, params):
        seen.append((updates, params))
        return updates

    tx = optgrad.chain(optgrad.stateless(record), optgrad.sgd(0.5))
    params = {"w": 1.0, "n": np.ones(2), "z": None}
    state = tx.init(params)
    updates, _ = tx.update({"w": 2.0, "n": np.ones(2), "z": None}, state, params)
    members_updates, members_params = seen[0]
    for leaf in [*jax.tree.leaves(members_updates), *jax.tree.leaves(members_params)]:
        assert isinstance(leaf, jax.Array)
        assert leaf.dtype == jnp.float32
    assert members_updates["z"] is None
    assert updates["w"].dtype == jnp.float32
    np.testing.assert_array_equal(updates["w"], -1.0)
    np.testing.assert_array_equal(updates["n"], [-0.5, -0.5])


def test_chain_rejects_wrong_state():
    tx = optgrad.chain(optgrad.identity(), optgrad.identity())
    with pytest.raises(ValueError, match="tuple of 2 member states"):
        tx.update({"a": jnp.ones(1)}, (optgrad.EmptyState(),))


def test_named_chain_keys_state_by_name():
    tx = optgrad.named_chain(("first", _scale(2.0)), ("second", _scale(3.0)))
    state = tx.init(None)
    assert set(state) == {"first", "second"}
    updates, _ = tx.update({"a": jnp.ones(1)}, state)
    np.testing.assert_array_equal(updates["a"], [6.0])


def test_named_chain_rejects_duplicates():
    with pytest.raises(ValueError, match="repeated names"):
        optgrad.named_chain(("a", optgrad.identity()), ("a", optgrad.identity()))


def test_named_chain_rejects_bare_transform():
    with pytest.raises(TypeError, match="argument 0"):
        optgrad.named_chain(optgrad.identity())


def _tree_params():
    return {"w": jnp.ones((2, 2)), "b": jnp.ones(2), "head": {"w": jnp.ones(3)}}


def test_partition_applies_each_label_its_transform():
    labels = {"w": "big", "b": "small", "head": "big"}
    tx = optgrad.partition(
        {"big": optgrad.sgd(1.0), "small": optgrad.sgd(0.5)}, param_labels=labels
    )
    params = _tree_params()
    updates, state = tx.update(params, tx.init(params), params)
    np.testing.assert_array_equal(updates["w"], -np.ones((2, 2)))
    np.testing.assert_array_equal(updates["b"], [-0.5, -0.5])
    np.testing.assert_array_equal(updates["head"]["w"], -np.ones(3))
    assert set(state.inner_states) == {"big", "small"}


def test_partition_keeps_state_only_for_its_leaves():
    tx = optgrad.partition(
        {"adam": optgrad.adam(0.1), "frozen": optgrad.set_to_zero()},
        {"w": "adam", "b": "frozen", "head": "frozen"},
    )
    state = tx.init(_tree_params())
    mu = state.inner_states["adam"].inner_state[0].mu
    assert mu["w"].shape == (2, 2)
    assert isinstance(mu["b"], optgrad.MaskedNode)
    assert isinstance(mu["head"], optgrad.MaskedNode)


def test_partition_names_leaves_without_transform():
    tx = optgrad.partition(
        {"a": optgrad.sgd(1.0)}, {"w": "a", "b": "missing", "head": {"w": "other"}}
    )
    with pytest.raises(
        ValueError, match=r"2 param labels have no transformation"
    ) as info:
        tx.init(_tree_params())
    assert "['b']: 'missing'" in str(info.value)
    assert "['head']['w']: 'other'" in str(info.value)


def test_partition_rejects_mismatched_labels():
    tx = optgrad.partition({"a": optgrad.sgd(1.0)}, {"w": "a"})
    with pytest.raises(ValueError, match="param_labels must have the structure"):
        tx.init(_tree_params())


def test_partition_rejects_bad_transforms():
    with pytest.raises(TypeError, match="maps label 'a' to function"):
        optgrad.partition({"a": optgrad.sgd}, {"w": "a"})
    with pytest.raises(TypeError, match="must be a mapping"):
        optgrad.partition([optgrad.sgd(1.0)], {"w": 0})


def test_partition_splits_compatible_extra_args():
    seen = []

    def update_fn(updates, state, params=None, **extra):
        seen.append(extra["weights"])
        return updates, state

    inner = optgrad.GradientTransformationExtraArgs(optgrad.init_empty_state, update_fn)
    tx = optgrad.partition(
        {"a": inner, "b": optgrad.identity()},
        {"w": "a", "b": "b", "head": {"w": "b"}},
        mask_compatible_extra_args=True,
    )
    params = _tree_params()
    tx.update(params, tx.init(params), params, weights=params)
    assert isinstance(seen[0]["b"], optgrad.MaskedNode)
    assert seen[0]["w"].shape == (2, 2)


def test_multi_transform_is_partition():
    assert optgrad.multi_transform is optgrad.partition
    assert optgrad.MultiTransformState is optgrad.PartitionState
