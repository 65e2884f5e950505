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
