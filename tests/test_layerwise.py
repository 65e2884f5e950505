import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose
from stepping import gradient_sequence, params_tree, run_updates

import optgrad

PARITY_CASES = [
    ("scale_by_trust_ratio", {}),
    ("scale_by_trust_ratio", {"min_norm": 0.5, "trust_coefficient": 0.1, "eps": 1e-3}),
    ("scale_by_param_block_norm", {}),
    ("scale_by_param_block_norm", {"min_scale": 2.0}),
    ("scale_by_param_block_rms", {}),
    ("scale_by_param_block_rms", {"min_scale": 0.9}),
]


@pytest.mark.parametrize(
    ("name", "kwargs"), PARITY_CASES, ids=[f"{n}{k}" for n, k in PARITY_CASES]
)
def test_layerwise_transforms_match_optax(name, kwargs):
    params = params_tree()
    grads = gradient_sequence(params, 2)
    with reference_mode():
        expected, _ = run_updates(getattr(optax, name)(**kwargs), params, grads)
    actual, _ = run_updates(getattr(optgrad, name)(**kwargs), params, grads)
    for got, want in zip(actual, expected, strict=True):
        tree_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_scale_by_trust_ratio_numpy_reference():
    p = np.array([[3.0, 4.0], [0.0, 0.0]])
    u = np.array([[0.5, 0.0], [0.0, 1.0]])
    tx = optgrad.scale_by_trust_ratio(trust_coefficient=0.5, eps=0.1)
    out, _ = tx.update(jnp.asarray(u), tx.init(jnp.asarray(p)), jnp.asarray(p))
    ratio = 0.5 * np.linalg.norm(p) / (np.linalg.norm(u) + 0.1)
    np.testing.assert_allclose(out, ratio * u, rtol=1e-6)


@pytest.mark.parametrize(
    ("param", "update", "expected"),
    [(0.0, 1.0, 1.0), (1.0, 0.0, 0.0), (0.0, 0.0, 0.0)],
    ids=["zero-param", "zero-update", "both-zero"],
)
def test_scale_by_trust_ratio_zero_norms(param, update, expected):
    tx = optgrad.scale_by_trust_ratio()
    params = jnp.full(3, param)
    out, _ = tx.update(jnp.full(3, update), tx.init(params), params)
    np.testing.assert_array_equal(out, np.full(3, expected))


def test_scale_by_trust_ratio_gradient_finite_at_zero():
    tx = optgrad.scale_by_trust_ratio()

    def total(p, u):
        return jnp.sum(tx.update(u, tx.init(p), p)[0])

    grads = jax.grad(total, argnums=(0, 1))(jnp.zeros(3), jnp.zeros(3))
    for g in grads:
        assert np.all(np.isfinite(np.asarray(g)))


@pytest.mark.parametrize(
    ("value", "dtype"),
    [(300.0, jnp.float16), (1e20, jnp.float32)],
    ids=["float16-300", "float32-1e20"],
)
def test_scale_by_trust_ratio_large_values(value, dtype):
    # The squared norms overflow the dtype; optax 0.2.8 gives NaN (inf / inf).
    params = jnp.full((8, 8), value, dtype)
    tx = optgrad.scale_by_trust_ratio()
    same, _ = tx.update(params, tx.init(params), params)
    assert same.dtype == dtype
    np.testing.assert_allclose(np.asarray(same, np.float32), value, rtol=1e-3)
    small = jnp.full((8, 8), 1.0, dtype)
    scaled, _ = tx.update(small, tx.init(params), params)
    np.testing.assert_allclose(np.asarray(scaled, np.float32), value, rtol=1e-3)


@pytest.mark.parametrize(
    ("value", "dtype"),
    [(300.0, jnp.float16), (1e20, jnp.float32)],
    ids=["float16-300", "float32-1e20"],
)
def test_param_block_scales_large_values(value, dtype):
    params = jnp.full((4, 4), value, dtype)
    ones = jnp.full((4, 4), 1e-3, dtype)
    norm_tx = optgrad.scale_by_param_block_norm()
    by_norm, _ = norm_tx.update(ones, norm_tx.init(params), params)
    rms_tx = optgrad.scale_by_param_block_rms()
    by_rms, _ = rms_tx.update(ones, rms_tx.init(params), params)
    np.testing.assert_allclose(
        np.asarray(by_norm, np.float32), 1e-3 * 4 * value, rtol=1e-2
    )
    np.testing.assert_allclose(np.asarray(by_rms, np.float32), 1e-3 * value, rtol=1e-2)


def test_param_block_scales_use_min_scale_at_zero():
    params = {"w": jnp.zeros((2, 2)), "empty": jnp.zeros((0,)), "none": None}
    updates = {"w": jnp.ones((2, 2)), "empty": jnp.zeros((0,)), "none": None}
    for tx in (
        optgrad.scale_by_param_block_norm(0.25),
        optgrad.scale_by_param_block_rms(0.25),
    ):
        out, _ = tx.update(updates, tx.init(params), params)
        np.testing.assert_array_equal(out["w"], np.full((2, 2), 0.25))
        assert out["empty"].shape == (0,)
        assert out["none"] is None


@pytest.mark.parametrize(
    "factory",
    [
        optgrad.scale_by_trust_ratio,
        optgrad.scale_by_param_block_norm,
        optgrad.scale_by_param_block_rms,
    ],
)
def test_layerwise_transforms_need_params(factory):
    tx = factory()
    with pytest.raises(ValueError, match="needs the current params"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))


def test_scale_by_trust_ratio_rejects_negative_coefficient():
    with pytest.raises(ValueError, match=r"trust_coefficient must be >= 0"):
        optgrad.scale_by_trust_ratio(trust_coefficient=-1.0)


def _decay_matrices(params):
    return jax.tree.map(lambda p: p.ndim >= 2, params)


def test_lars_mask_is_weight_decay_mask():
    params = params_tree()
    grads = gradient_sequence(params, 3)
    by_mask, _ = run_updates(
        optgrad.lars(0.1, weight_decay=0.1, mask=_decay_matrices), params, grads
    )
    by_optax_name, _ = run_updates(
        optgrad.lars(0.1, weight_decay=0.1, weight_decay_mask=_decay_matrices),
        params,
        grads,
    )
    unmasked, _ = run_updates(optgrad.lars(0.1, weight_decay=0.1), params, grads)
    tree_allclose(by_mask, by_optax_name, rtol=0, atol=0)
    assert not np.allclose(by_mask[-1]["b"], unmasked[-1]["b"])


def test_lars_rejects_both_mask_names():
    with pytest.raises(ValueError, match="weight_decay_mask= and mask="):
        optgrad.lars(0.1, weight_decay_mask=_decay_matrices, mask=_decay_matrices)


def test_lamb_mask_leaves_biases_undecayed():
    params = {"w": jnp.ones((2, 2)), "b": jnp.ones(2)}
    zero = jax.tree.map(jnp.zeros_like, params)
    tx = optgrad.lamb(0.1, weight_decay=0.5, mask=_decay_matrices)
    updates, _ = tx.update(zero, tx.init(params), params)
    np.testing.assert_array_equal(updates["b"], np.zeros(2))
    # Decay only: r = 0.5 * w, and the trust ratio rescales it to the norm of w.
    np.testing.assert_allclose(updates["w"], -0.1 * np.ones((2, 2)), rtol=1e-6)


def test_fromage_keeps_param_norm_bounded():
    params = {"w": jnp.asarray([[3.0, 4.0]])}
    tx = optgrad.fromage(0.1)
    state = tx.init(params)
    grads = {"w": jnp.asarray([[4.0, -3.0]])}  # Orthogonal to the params.
    updates, _ = tx.update(grads, state, params)
    new = optgrad.apply_updates(params, updates)
    # Orthogonal step of relative size 0.1, then division by sqrt(1.01).
    np.testing.assert_allclose(np.linalg.norm(new["w"]), 5.0, rtol=1e-6)


def test_fromage_schedule_matches_constant():
    params = params_tree()
    grads = gradient_sequence(params, 3)
    constant, _ = run_updates(optgrad.fromage(0.05), params, grads)
    scheduled, _ = run_updates(optgrad.fromage(lambda count: 0.05), params, grads)
    tree_allclose(scheduled, constant, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    ("factory", "pattern"),
    [
        (lambda: optgrad.fromage(-0.1), r"fromage\(learning_rate=-0.1\)"),
        (lambda: optgrad.lamb(0.1, b1=1.0), r"lamb\(b1=1.0\)"),
        (lambda: optgrad.lamb(0.1, weight_decay=-1.0), r"weight_decay must be >= 0"),
        (lambda: optgrad.lars(0.1, momentum=1.5), r"lars\(momentum=1.5\)"),
    ],
)
def test_layerwise_optimizers_reject_bad_hyperparameters(factory, pattern):
    with pytest.raises(ValueError, match=pattern):
        factory()
