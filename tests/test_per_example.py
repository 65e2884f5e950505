"""Per-example and unitwise clipping."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose

import optgrad


def _per_example_grads(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "w": jnp.asarray(rng.normal(size=(5, 3, 2)) * 2, jnp.float32),
        "b": jnp.asarray(rng.normal(size=(5, 2)), jnp.float32),
    }


def _numpy_global_clip(grads, bound):
    leaves = [np.asarray(g, np.float64) for g in jax.tree.leaves(grads)]
    norms = np.sqrt(sum(np.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in leaves))
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.nan_to_num(np.minimum(bound / norms, 1.0), nan=1.0)
    sums = [np.tensordot(factors, g, axes=1) for g in leaves]
    return sums, int(np.sum(factors < 1))


@pytest.mark.parametrize("bound", [0.0, 1.0, 3.0, np.inf])
def test_global_clip_matches_numpy_and_optax(bound):
    grads = _per_example_grads()
    summed, num_clipped = jax.jit(optgrad.per_example_global_norm_clip)(grads, bound)
    expected, expected_count = _numpy_global_clip(grads, bound)
    tree_allclose(jax.tree.leaves(summed), expected, rtol=1e-5, atol=1e-6)
    assert int(num_clipped) == expected_count
    with reference_mode():
        ref_summed, ref_count = optax.per_example_global_norm_clip(grads, bound)
    tree_allclose(summed, ref_summed, rtol=1e-5, atol=1e-6)
    assert int(num_clipped) == int(ref_count)


def test_global_clip_zero_example_and_integer_input():
    grads = [jnp.array([[0, 0, 0], [0, 3, 4], [4, 0, 3], [3, 4, 0]])]
    summed, num_clipped = optgrad.per_example_global_norm_clip(grads, 1.25)
    assert summed[0].dtype == jnp.float32
    np.testing.assert_allclose(summed[0], [1.75, 1.75, 1.75], rtol=1e-6)
    assert int(num_clipped) == 3
    summed, num_clipped = optgrad.per_example_global_norm_clip(grads, 0.0)
    np.testing.assert_array_equal(summed[0], [0.0, 0.0, 0.0])


def test_global_clip_huge_gradients_stay_finite():
    grads = [jnp.full((2, 3), 1e30, jnp.float32)]
    summed, num_clipped = optgrad.per_example_global_norm_clip(grads, 1.0)
    np.testing.assert_allclose(summed[0], np.full(3, 2 / np.sqrt(3)), rtol=1e-5)
    assert int(num_clipped) == 2


def test_global_clip_keeps_bfloat16_and_empty():
    grads = {"w": jnp.ones((4, 2), jnp.bfloat16), "none": None}
    summed, _ = optgrad.per_example_global_norm_clip(grads, 1.0)
    assert summed["w"].dtype == jnp.bfloat16
    assert summed["none"] is None
    summed, num_clipped = optgrad.per_example_global_norm_clip({}, 1.0)
    assert summed == {}
    assert int(num_clipped) == 0


@pytest.mark.parametrize("uniform", [True, False])
def test_layer_clip_matches_optax(uniform):
    bound = 2.0
    grads = _per_example_grads(1)
    clip = jax.jit(optgrad.per_example_layer_norm_clip, static_argnums=2)
    summed, counts = clip(grads, bound, uniform)
    with reference_mode():
        ref_summed, ref_counts = optax.per_example_layer_norm_clip(
            grads, bound, uniform
        )
    tree_allclose(summed, ref_summed, rtol=1e-5, atol=1e-6)
    assert jax.tree.map(int, counts) == jax.tree.map(int, ref_counts)


def test_layer_clip_bounds_each_leaf():
    grads = _per_example_grads(2)
    bound = 1.0
    summed, _ = optgrad.per_example_layer_norm_clip(grads, bound, uniform=True)
    leaf_bound = bound / np.sqrt(2)
    for name in ("w", "b"):
        expected, _ = _numpy_global_clip([grads[name]], leaf_bound)
        np.testing.assert_allclose(summed[name], expected[0], rtol=1e-5, atol=1e-6)


def test_clip_names_leaf_without_batch_axis():
    grads = {"a": jnp.ones((4, 2)), "b": jnp.ones((3, 2)), "c": jnp.float32(1.0)}
    expected = r"size 4 \(the size at \['a'\]\).*\['b'\] has shape \(3, 2\)"
    with pytest.raises(ValueError, match=expected) as info:
        optgrad.per_example_global_norm_clip(grads, 1.0)
    assert "['c'] has shape ()" in str(info.value)
    with pytest.raises(ValueError, match="per_example_layer_norm_clip"):
        optgrad.per_example_layer_norm_clip(grads, 1.0)


def test_clip_rejects_negative_bound():
    with pytest.raises(ValueError, match=r"l2_norm_clip=-1.0\) is out of range"):
        optgrad.per_example_global_norm_clip([jnp.ones((2, 2))], -1.0)


@pytest.mark.parametrize(
    "shape", [(), (4,), (1, 5), (3, 4), (2, 3, 4), (2, 2, 3, 4), (2, 2, 2, 3, 2)]
)
def test_unitwise_norm_matches_optax(shape):
    x = jnp.asarray(np.random.default_rng(3).normal(size=shape), jnp.float32)
    with reference_mode():
        expected = optax.transforms.unitwise_norm(x)
    np.testing.assert_allclose(optgrad.transforms.unitwise_norm(x), expected, rtol=1e-6)


def test_unitwise_norm_numpy_and_axis():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    expected = np.broadcast_to(np.sqrt(np.sum(x**2, axis=0, keepdims=True)), x.shape)
    np.testing.assert_allclose(optgrad.transforms.unitwise_norm(x), expected, rtol=1e-6)
    by_row = np.broadcast_to(np.sqrt(np.sum(x**2, axis=1, keepdims=True)), x.shape)
    np.testing.assert_allclose(
        optgrad.transforms.unitwise_norm(x, axis=1), by_row, rtol=1e-6
    )


def test_unitwise_norm_rejects_rank_six():
    with pytest.raises(ValueError, match=r"shape \(2, 2, 2, 2, 2, 2\).*Pass axis"):
        optgrad.transforms.unitwise_norm(jnp.ones((2,) * 6))


def test_unitwise_norm_gradient_at_zero_is_finite():
    grad = jax.grad(lambda x: jnp.sum(optgrad.transforms.unitwise_norm(x)))(
        jnp.zeros(3)
    )
    np.testing.assert_array_equal(grad, np.zeros(3))


def test_unitwise_clip_matches_optax():
    rng = np.random.default_rng(4)
    grad = jnp.asarray(rng.normal(size=(3, 4)), jnp.float32)
    g_norm = optgrad.transforms.unitwise_norm(grad)
    max_norm = jnp.full((3, 4), 1.5, jnp.float32)
    actual = optgrad.transforms.unitwise_clip(g_norm, max_norm, grad)
    with reference_mode():
        expected = optax.transforms.unitwise_clip(g_norm, max_norm, grad)
    np.testing.assert_allclose(actual, expected, rtol=1e-6)
    clipped_norms = np.linalg.norm(np.asarray(actual), axis=0)
    assert np.all(clipped_norms <= 1.5 * (1 + 1e-6))


def test_unitwise_clip_keeps_bfloat16():
    grad = jnp.ones((2, 2), jnp.bfloat16)
    g_norm = optgrad.transforms.unitwise_norm(grad)
    assert g_norm.dtype == jnp.float32
    clipped = optgrad.transforms.unitwise_clip(g_norm, jnp.full((2, 2), 0.5), grad)
    assert clipped.dtype == jnp.bfloat16
    np.testing.assert_allclose(
        np.asarray(clipped, np.float32), 0.5 / np.sqrt(2), rtol=1e-2
    )


def test_unitwise_clip_rejects_shape_mismatch():
    with pytest.raises(ValueError, match=r"\(2, 2\), \(2,\) and \(2, 2\)"):
        optgrad.transforms.unitwise_clip(
            jnp.ones((2, 2)), jnp.ones(2), jnp.ones((2, 2))
        )
