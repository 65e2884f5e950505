import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose
from stepping import gradient_sequence, params_tree, run_updates

import optgrad


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
def test_scale_by_sign_values_and_dtype(dtype):
    tx = optgrad.scale_by_sign()
    g = jnp.asarray([-3.0, 0.0, 1e-3, 2.0], dtype)
    out, state = tx.update(g, tx.init(g), g)
    assert out.dtype == dtype
    np.testing.assert_array_equal(np.asarray(out, np.float32), [-1.0, 0.0, 1.0, 1.0])
    assert state == optgrad.EmptyState()


def _rprop_numpy(grads, lr, eta_minus, eta_plus, min_step, max_step):
    """Rprop without weight backtracking (iRprop-), one update per gradient."""
    step = np.full_like(grads[0], lr)
    previous = np.zeros_like(grads[0])
    outputs = []
    for g in grads:
        agreement = np.sign(g) * np.sign(previous)
        grown = np.clip(
            step * np.where(agreement > 0, eta_plus, eta_minus), min_step, max_step
        )
        step = np.where(agreement == 0, step, grown)
        previous = np.where(agreement < 0, 0.0, step * np.sign(g))
        outputs.append(-previous)
    return outputs


@pytest.mark.parametrize(
    "kwargs",
    [
        {"learning_rate": 0.1},
        {
            "learning_rate": 0.01,
            "eta_minus": 0.2,
            "eta_plus": 2.0,
            "min_step_size": 5e-3,
            "max_step_size": 0.05,
        },
    ],
)
def test_rprop_numpy_reference(kwargs):
    signs = np.array(
        [[1.0, 1.0, -1.0], [1.0, -1.0, -1.0], [1.0, -1.0, 0.0], [-1.0, -1.0, 2.0]]
        + [[1.0, 1.0, 1.0]] * 4
    )
    grads = [jnp.asarray(row * 0.7) for row in signs]
    full = {"eta_minus": 0.5, "eta_plus": 1.2, "min_step_size": 1e-6}
    full.update({"max_step_size": 50.0, **kwargs})
    expected = _rprop_numpy(
        [np.asarray(g, np.float64) for g in grads],
        full["learning_rate"],
        full["eta_minus"],
        full["eta_plus"],
        full["min_step_size"],
        full["max_step_size"],
    )
    actual, _ = run_updates(optgrad.rprop(**kwargs), jnp.zeros(3), grads)
    for got, want in zip(actual, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_rprop_first_step_moves():
    # optax 0.2.8 returns each step one update late, so its first update is 0.
    params = jnp.zeros(2)
    grads = jnp.asarray([1.0, -1.0])
    ours, _ = optgrad.rprop(0.1).update(grads, optgrad.rprop(0.1).init(params), params)
    np.testing.assert_allclose(ours, [-0.1, 0.1])
    with reference_mode():
        reference = optax.rprop(0.1)
        theirs, _ = reference.update(grads, reference.init(params), params)
    np.testing.assert_array_equal(theirs, [0.0, 0.0])


def test_rprop_state_matches_optax():
    # optax 0.2.8 stores the same step sizes and steps, and only its output lags.
    params = params_tree()
    grads = gradient_sequence(params, 6)
    with reference_mode():
        _, expected = run_updates(optax.scale_by_rprop(0.01), params, grads)
    _, state = run_updates(optgrad.scale_by_rprop(0.01), params, grads)
    tree_allclose(state.step_sizes, expected.step_sizes, rtol=1e-6, atol=1e-9)
    tree_allclose(state.prev_updates, expected.prev_updates, rtol=1e-6, atol=1e-9)


def test_rprop_tiny_gradients_count_as_agreeing():
    # The product 1e-30 * 1e-10 is below float32's normal range, but the
    # signs of the two gradients agree, so the step grows.
    tx = optgrad.scale_by_rprop(1e-10, min_step_size=1e-12)
    params = jnp.zeros(1)
    grads = [jnp.asarray([1e-30])] * 2
    outputs, state = run_updates(tx, params, grads)
    np.testing.assert_allclose(state.step_sizes, [1.2e-10], rtol=1e-6)
    np.testing.assert_allclose(outputs[-1], [1.2e-10], rtol=1e-6)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_rprop_16bit_state(dtype):
    params = params_tree(dtype)
    grads = gradient_sequence(params, 3)
    outputs, state = run_updates(optgrad.rprop(1e-3), params, grads)
    for leaf in jax.tree.leaves(state):
        assert leaf.dtype == jnp.float32
    for leaf in jax.tree.leaves(outputs[-1]):
        assert leaf.dtype == dtype


@pytest.mark.parametrize(
    ("factory", "error", "pattern"),
    [
        (lambda: optgrad.rprop(lambda c: 0.1), TypeError, "not a schedule"),
        (lambda: optgrad.rprop(0.0), ValueError, r"rprop\(learning_rate=0.0\)"),
        (
            lambda: optgrad.rprop(0.1, eta_plus=0.9),
            ValueError,
            r"eta_plus must be >= 1",
        ),
        (
            lambda: optgrad.rprop(0.1, eta_minus=1.5),
            ValueError,
            r"eta_minus must be in \[0, 1\]",
        ),
        (
            lambda: optgrad.rprop(0.1, min_step_size=1.0, max_step_size=0.5),
            ValueError,
            r"max_step_size must be >= 1",
        ),
    ],
)
def test_rprop_rejects_bad_hyperparameters(factory, error, pattern):
    with pytest.raises(error, match=pattern):
        factory()


def test_rprop_rejects_complex_params():
    with pytest.raises(TypeError, match="complex"):
        optgrad.rprop(0.1).init(jnp.ones(2, jnp.complex64))


def test_signum_numpy_reference():
    beta, lr = 0.5, 0.1
    g = [np.array([1.0, -1.0]), np.array([-3.0, 0.5]), np.array([0.5, 0.5])]
    outputs, _ = run_updates(
        optgrad.signum(lr, beta=beta), jnp.zeros(2), [jnp.asarray(x) for x in g]
    )
    m = np.zeros(2)
    for x, out in zip(g, outputs, strict=True):
        m = beta * m + (1 - beta) * x
        np.testing.assert_allclose(out, -lr * np.sign(m), rtol=1e-6)


def test_sign_sgd_schedule():
    tx = optgrad.sign_sgd(lambda count: 0.1 * (count.astype(jnp.float32) + 1))
    outputs, _ = run_updates(tx, jnp.zeros(2), [jnp.asarray([2.0, -0.5])] * 2)
    np.testing.assert_allclose(outputs[0], [-0.1, 0.1], rtol=1e-6)
    np.testing.assert_allclose(outputs[1], [-0.2, 0.2], rtol=1e-6)


def test_signum_rejects_bad_beta():
    with pytest.raises(ValueError, match=r"signum\(beta=1.5\)"):
        optgrad.signum(0.1, beta=1.5)
