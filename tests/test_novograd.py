"""NovoGrad: NumPy reference, masks, schedules and safe norms."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, run_transform, tree_allclose

import optgrad


def _novograd_reference(grads, params, b1, b2, eps, decay):
    """One leaf of NovoGrad; ``decay`` is a function of the 0-based step."""
    m = np.zeros_like(params)
    v = 0.0
    out = []
    for t, g in enumerate(grads):
        sq = float(np.sum(g * g))
        v = sq if t == 0 else b2 * v + (1 - b2) * sq
        step = g / (np.sqrt(v) + eps) + decay(t) * params
        m = step if t == 0 else b1 * m + step
        out.append(m)
    return out


def _as_jax(tree):
    return jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), tree)


def _problem():
    rng = np.random.default_rng(0)
    params = {
        "dense": {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2)},
        "scale": rng.normal(size=4),
    }
    grads = [
        jax.tree.map(lambda p: rng.normal(size=p.shape) * 5.0, params) for _ in range(4)
    ]
    grads[1]["scale"] = np.zeros(4)
    return params, grads


@pytest.mark.parametrize("scheduled", [False, True])
def test_novograd_matches_numpy_with_prefix_mask(scheduled):
    params, grads = _problem()
    rate = (lambda count: 0.1 / (1.0 + count.astype(jnp.float32))) if scheduled else 0.1
    decay = (lambda t: 0.1 / (1.0 + t)) if scheduled else (lambda t: 0.1)
    mask = {"dense": True, "scale": False}
    tx = optgrad.scale_by_novograd(0.8, 0.5, 1e-6, weight_decay=rate, mask=mask)
    updates, state = run_transform(tx, _as_jax(params), [_as_jax(g) for g in grads])
    for path in (("dense", "w"), ("dense", "b"), ("scale",)):

        def pick(tree, path=path):
            for key in path:
                tree = tree[key]
            return tree

        leaf_decay = decay if path[0] == "dense" else (lambda t: 0.0)
        expected = _novograd_reference(
            [pick(g) for g in grads], pick(params), 0.8, 0.5, 1e-6, leaf_decay
        )
        for actual, want in zip(updates, expected, strict=True):
            np.testing.assert_allclose(pick(actual), want, rtol=1e-5, atol=1e-7)
    assert state.nu["scale"].shape == ()


def test_novograd_matches_optax():
    params, grads = _problem()
    kwargs = {"learning_rate": 0.1, "b1": 0.8, "weight_decay": 0.05}
    with reference_mode():
        expected, _ = run_transform(
            optax.novograd(**kwargs), _as_jax(params), [_as_jax(g) for g in grads]
        )
    actual, _ = run_transform(
        optgrad.novograd(**kwargs), _as_jax(params), [_as_jax(g) for g in grads]
    )
    tree_allclose(actual, expected, rtol=1e-5)


def test_novograd_float16_gradients_of_300():
    # The squared norm, 300**2 * 8, overflows float16.
    params = jnp.zeros(8, jnp.float16)
    grads = jnp.full(8, 300.0, jnp.float16)
    updates, state = run_transform(optgrad.scale_by_novograd(), params, [grads])
    assert state.nu.dtype == jnp.float32
    np.testing.assert_allclose(state.nu, 300.0**2 * 8, rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(updates[0], np.float32), 1 / np.sqrt(8), rtol=1e-3
    )


def test_novograd_zero_gradient():
    tx = optgrad.scale_by_novograd()
    params = jnp.zeros(3)

    def first_update_sum(g):
        updates, _ = tx.update(g, tx.init(params), params)
        return jnp.sum(updates)

    assert float(first_update_sum(jnp.zeros(3))) == 0.0
    grad = jax.grad(first_update_sum)(jnp.zeros(3))
    assert np.all(np.isfinite(grad))


def test_novograd_without_params():
    tx = optgrad.scale_by_novograd()
    grads = {"w": jnp.ones(2)}
    updates, _ = tx.update(grads, tx.init(grads))
    np.testing.assert_allclose(updates["w"], 1 / (np.sqrt(2) + 1e-8), rtol=1e-6)
    decaying = optgrad.scale_by_novograd(weight_decay=0.1)
    with pytest.raises(ValueError, match="scale_by_novograd needs the current params"):
        decaying.update(grads, decaying.init(grads))


def test_novograd_rejects_mismatched_mask():
    params = {"w": jnp.ones(2), "b": jnp.ones(2)}
    tx = optgrad.novograd(0.1, weight_decay=0.1, mask={"w": True})
    with pytest.raises(ValueError, match="the mask must have the structure"):
        tx.update(params, tx.init(params), params)
