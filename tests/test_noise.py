"""add_noise: optax's random stream, the variance schedule and the key."""

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, run_transform, tree_allclose, tree_equal

import optgrad


def _problem():
    params = {"w": jnp.zeros((3, 4)), "none": None, "b": jnp.zeros(2)}
    grads = [
        {"w": jnp.full((3, 4), 0.5 * k), "none": None, "b": jnp.full(2, -1.0 * k)}
        for k in range(3)
    ]
    return params, grads


@pytest.mark.parametrize(
    "key",
    [7, jax.random.key(7), jax.random.PRNGKey(7)],
    ids=["int", "typed", "raw"],
)
def test_add_noise_matches_optax(key):
    params, grads = _problem()
    with reference_mode():
        reference_key = jax.random.wrap_key_data(key) if np.ndim(key) else key
        expected, _ = run_transform(
            optax.add_noise(0.3, 0.55, reference_key), params, grads
        )
    actual, state = run_transform(optgrad.add_noise(0.3, 0.55, key), params, grads)
    tree_allclose(actual, expected, rtol=1e-6, atol=1e-7)
    assert actual[0]["none"] is None
    assert state.rng_key.dtype == jnp.uint32


def test_add_noise_variance_decays():
    eta, gamma = 2.0, 1.0
    params = jnp.zeros(200_000)
    tx = optgrad.add_noise(eta, gamma, key=jax.random.key(0))
    updates, _ = run_transform(tx, params, [params] * 4)
    for step, noise in enumerate(updates, start=1):
        # The sample variance of 2e5 normal draws is within 1% (about 3 sigma).
        np.testing.assert_allclose(np.var(noise), eta / step**gamma, rtol=0.01)


def test_add_noise_bfloat16_updates():
    params = jnp.zeros(1000, jnp.bfloat16)
    tx = optgrad.add_noise(1.0, 0.55, key=0)
    updates, _ = run_transform(tx, params, [params])
    assert updates[0].dtype == jnp.bfloat16
    assert 0.9 < float(np.std(np.asarray(updates[0], np.float32))) < 1.1


def test_add_noise_state_serializes():
    params, grads = _problem()
    tx = optgrad.add_noise(0.3, 0.55, key=jax.random.key(3))
    _, state = run_transform(tx, params, grads[:2])
    restored = flax.serialization.from_bytes(
        tx.init(params), flax.serialization.to_bytes(state)
    )
    tree_equal(restored, state)
    tree_equal(
        tx.update(grads[2], restored, params), tx.update(grads[2], state, params)
    )


def test_add_noise_key_arguments():
    with pytest.warns(UserWarning, match=r"add_noise\(key=None\) uses seed 0"):
        optgrad.add_noise(0.1, 0.5)
    with pytest.warns(DeprecationWarning, match=r"pass key=\.\.\. instead"):
        optgrad.add_noise(0.1, 0.5, seed=3)
    with pytest.raises(ValueError, match="got both a key and a seed"):
        optgrad.add_noise(0.1, 0.5, key=1, seed=3)
    with pytest.raises(ValueError, match=r"add_noise\(eta=-1.0\)"):
        optgrad.add_noise(-1.0, 0.5, key=1)


def test_noisy_sgd_with_seed_matches_key():
    params, grads = _problem()
    with pytest.warns(DeprecationWarning):
        seeded = optgrad.noisy_sgd(0.1, seed=5)
    by_seed, _ = run_transform(seeded, params, grads)
    by_key, _ = run_transform(optgrad.noisy_sgd(0.1, key=5), params, grads)
    tree_equal(by_seed, by_key)
