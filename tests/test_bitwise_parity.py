"""Float32 trajectories that equal optax 0.2.8's to the last bit.

The catalogue in ``test_optimizers.py`` allows a small relative tolerance
for every optimizer. The optimizers here compute each operation in the same
order and rounding as optax, so their float32 trajectories must be
identical, which these tests check exactly.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode

import optgrad

CASES = {
    "adam": lambda lib: lib.adam(1e-2),
    "adam_nesterov": lambda lib: lib.adam(1e-2, nesterov=True),
    "adamw": lambda lib: lib.adamw(1e-2, weight_decay=1e-2),
    "nadamw": lambda lib: lib.nadamw(1e-2),
    "adafactor": lambda lib: lib.adafactor(1e-2),
    "adabelief": lambda lib: lib.adabelief(1e-2),
    "amsgrad": lambda lib: lib.amsgrad(1e-2),
    "yogi": lambda lib: lib.yogi(1e-2),
    "radam": lambda lib: lib.radam(1e-2),
    "lion": lambda lib: lib.lion(1e-3, weight_decay=1e-2),
    "lamb": lambda lib: lib.lamb(1e-2),
    "rmsprop_centered": lambda lib: lib.rmsprop(1e-3, momentum=0.9, centered=True),
    "sgd_nesterov": lambda lib: lib.sgd(0.05, momentum=0.9, nesterov=True),
}


def _problem():
    keys = jax.random.split(jax.random.key(3), 4)
    x = jax.random.normal(keys[0], (64, 8))
    y = jnp.sin(x @ jax.random.normal(keys[1], (8,)))
    params = {
        "hidden": {
            "w": jax.random.normal(keys[2], (8, 16)) * 0.3,
            "b": jnp.zeros(16),
        },
        "out": {"w": jax.random.normal(keys[3], (16, 1)) * 0.3, "b": jnp.zeros(1)},
    }

    def loss(p):
        h = jnp.tanh(x @ p["hidden"]["w"] + p["hidden"]["b"][None, :])
        prediction = (h @ p["out"]["w"] + p["out"]["b"][None, :])[:, 0]
        return jnp.mean((prediction - y) ** 2)

    return params, loss


def _trajectory(lib, make, steps=40):
    params, loss = _problem()
    optimizer = make(lib)

    def step(carry, _):
        p, state = carry
        updates, state = optimizer.update(jax.grad(loss)(p), state, p)
        return (lib.apply_updates(p, updates), state), None

    (params, _), _ = jax.jit(
        lambda p: jax.lax.scan(step, (p, optimizer.init(p)), None, length=steps)
    )(params)
    return params


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_trajectory_equals_optax(name):
    with reference_mode():
        expected = _trajectory(optax, CASES[name])
    actual = _trajectory(optgrad, CASES[name])
    for got, want in zip(
        jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True
    ):
        np.testing.assert_array_equal(got, want)
