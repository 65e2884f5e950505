"""lookahead."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import problems
import pytest
import trajectory
from helpers import reference_mode

import optgrad


def _run(library, reset_state, steps=60):
    tx = library.lookahead(
        library.adam(0.05), sync_period=5, slow_step_size=0.5, reset_state=reset_state
    )

    def step(carry, _):
        params, state = carry
        grads = problems.grad(params.fast)
        updates, state = tx.update(grads, state, params)
        params = library.apply_updates(params, updates)
        return (params, state), params

    @jax.jit
    def run(params):
        params = library.LookaheadParams.init_synced(params)
        _, stacked = jax.lax.scan(step, (params, tx.init(params)), None, steps)
        return stacked

    return run(problems.initial_params())


@pytest.mark.parametrize("reset_state", [False, True])
def test_lookahead_matches_optax_over_60_steps(reset_state):
    with reference_mode():
        expected = _run(optax, reset_state)
    actual = _run(optgrad, reset_state)
    trajectory.assert_close(actual.fast, expected.fast)
    trajectory.assert_close(actual.slow, expected.slow)


def test_lookahead_matches_two_loop_numpy_reference():
    learning_rate, k, alpha = 0.1, 3, 0.4
    target = np.array([1.0, -2.0, 0.5])

    def grad(x):
        return 2.0 * (x - target)

    slow = np.zeros(3)
    slow_history = []
    for _ in range(4):
        fast = slow.copy()
        for _ in range(k):
            fast = fast - learning_rate * grad(fast)
        slow = slow + alpha * (fast - slow)
        slow_history.append(slow)

    tx = optgrad.lookahead(optgrad.sgd(learning_rate), k, alpha)
    params = optgrad.LookaheadParams.init_synced(jnp.zeros(3))
    state = tx.init(params)
    step = jax.jit(tx.update)
    for index in range(4 * k):
        updates, state = step(
            grad(np.asarray(params.fast)).astype(np.float32), state, params
        )
        params = optgrad.apply_updates(params, updates)
        if index % k == k - 1:
            np.testing.assert_allclose(params.slow, slow_history[index // k], rtol=1e-5)
            np.testing.assert_allclose(params.fast, params.slow, rtol=1e-6)


def test_lookahead_init_accepts_plain_params():
    tx = optgrad.lookahead(optgrad.adam(0.1), 2, 0.5)
    state = tx.init(jnp.ones(3))
    assert state.fast_state[0].mu.shape == (3,)


def test_lookahead_update_needs_pair():
    tx = optgrad.lookahead(optgrad.sgd(0.1), 2, 0.5)
    with pytest.raises(TypeError, match="LookaheadParams pair"):
        tx.update(jnp.ones(3), tx.init(jnp.ones(3)), jnp.ones(3))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sync_period": 0, "slow_step_size": 0.5}, r"sync_period=0\) must be >= 1"),
        ({"sync_period": 2, "slow_step_size": 1.5}, r"slow_step_size=1.5\) is out"),
    ],
)
def test_lookahead_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optgrad.lookahead(optgrad.sgd(0.1), **kwargs)
