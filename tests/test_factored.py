import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose
from stepping import gradient_sequence, params_tree, run_updates

import optgrad
from optgrad.transforms._factored import block_rms_clip


def _factored_params(dtype=jnp.float32):
    params = params_tree(dtype)
    params["cube"] = jnp.linspace(-1.0, 1.0, 60, dtype=dtype).reshape(5, 4, 3)
    return params


def _run_from_count(tx, params, grads_seq, count):
    state = tx.init(params)
    state = state._replace(count=jnp.asarray(count, jnp.int32))
    update = jax.jit(tx.update)
    outputs = []
    for grads in grads_seq:
        updates, state = update(grads, state, params)
        outputs.append(updates)
    return outputs, state


@pytest.mark.parametrize(
    ("kwargs", "count"),
    [
        ({"min_dim_size_to_factor": 2}, 0),
        ({"min_dim_size_to_factor": 4, "decay_rate": 0.5, "step_offset": 2}, 3),
        ({"factored": False, "epsilon": 1e-20}, 0),
    ],
    ids=["factored", "offset", "unfactored"],
)
def test_scale_by_factored_rms_matches_optax(kwargs, count):
    params = _factored_params()
    grads = gradient_sequence(params, 4)
    with reference_mode():
        expected, expected_state = _run_from_count(
            optax.scale_by_factored_rms(**kwargs), params, grads, count
        )
    actual, state = _run_from_count(
        optgrad.scale_by_factored_rms(**kwargs), params, grads, count
    )
    for got, want in zip(actual, expected, strict=True):
        tree_allclose(got, want, rtol=2e-5, atol=1e-6)
    for field in ("count", "v_row", "v_col", "v"):
        tree_allclose(
            getattr(state, field), getattr(expected_state, field), rtol=2e-5, atol=1e-6
        )


def test_scale_by_factored_rms_numpy_reference():
    eps = 1e-30
    g = [
        np.array([[1.0, -2.0, 0.5], [0.1, 3.0, -1.0]]),
        np.array([[0.3, 1.0, -0.5], [2.0, -1.0, 1.0]]),
    ]
    tx = optgrad.scale_by_factored_rms(min_dim_size_to_factor=1)
    outputs, state = run_updates(tx, jnp.zeros((2, 3)), [jnp.asarray(x) for x in g])
    # The largest axis (3 columns) is reduced into the row statistics.
    rows, cols = np.zeros(2), np.zeros(3)
    for step, (x, out) in enumerate(zip(g, outputs, strict=True)):
        beta = 1 - (step + 1.0) ** -0.8
        rows = beta * rows + (1 - beta) * np.mean(x**2 + eps, axis=1)
        cols = beta * cols + (1 - beta) * np.mean(x**2 + eps, axis=0)
        v_hat = np.outer(rows, cols) / np.mean(rows)
        np.testing.assert_allclose(out, x / np.sqrt(v_hat), rtol=1e-5)
    np.testing.assert_allclose(state.v_row, rows, rtol=1e-5)
    np.testing.assert_allclose(state.v_col, cols, rtol=1e-5)
    assert state.v.shape == (1,)
    assert int(state.count) == 2


def test_scale_by_factored_rms_before_offset_uses_first_decay():
    # optax 0.2.8 evaluates 1 - (step + 1)**-0.8 at step -2 here: NaN.
    params = jnp.ones((3, 2))
    grads = jnp.asarray([[1.0, -2.0], [0.5, 3.0], [1.0, 1.0]])
    early = optgrad.scale_by_factored_rms(min_dim_size_to_factor=1, step_offset=2)
    fresh = optgrad.scale_by_factored_rms(min_dim_size_to_factor=1)
    got, state = early.update(grads, early.init(params), params)
    want, _ = fresh.update(grads, fresh.init(params), params)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert np.all(np.isfinite(np.asarray(state.v_row)))


def test_scale_by_factored_rms_init_under_jit():
    tx = optgrad.adafactor(learning_rate=0.1, min_dim_size_to_factor=2, momentum=0.9)
    params = _factored_params()
    jitted = jax.jit(tx.init)(params)
    eager = tx.init(params)
    assert jax.tree.structure(jitted) == jax.tree.structure(eager)
    for a, b in zip(jax.tree.leaves(jitted), jax.tree.leaves(eager), strict=True):
        assert a.shape == b.shape
        assert a.dtype == b.dtype


def test_adafactor_accepts_traced_hyperparameters():
    # inject_hyperparams builds the optimizer inside the jitted step with array
    # hyperparameters; nothing may branch on their values.
    params = _factored_params()
    grads = gradient_sequence(params, 1)[0]
    values = {
        "learning_rate": 0.05,
        "decay_rate": 0.7,
        "decay_offset": 1,
        "clipping_threshold": 0.5,
        "momentum": 0.9,
        "weight_decay_rate": 1e-3,
        "eps": 1e-30,
    }

    def build(hyperparams):
        return optgrad.adafactor(min_dim_size_to_factor=2, **hyperparams)

    @jax.jit
    def step(hyperparams):
        tx = build(hyperparams)
        return tx.update(grads, tx.init(params), params)[0]

    traced = step({k: jnp.asarray(v) for k, v in values.items()})
    tx = build(values)
    expected = tx.update(grads, tx.init(params), params)[0]
    tree_allclose(traced, expected, rtol=1e-5, atol=1e-7)


def test_scale_by_factored_rms_rejects_traced_factor_size():
    params = jnp.ones((4, 4))

    @jax.jit
    def build(size):
        return optgrad.scale_by_factored_rms(min_dim_size_to_factor=size).init(params)

    with pytest.raises(TypeError, match="static_args"):
        build(jnp.asarray(2))


def test_scale_by_factored_rms_accepts_concrete_integer_array():
    tx = optgrad.scale_by_factored_rms(min_dim_size_to_factor=np.int64(2))
    state = tx.init(jnp.ones((4, 3)))
    # v_row averages over the largest axis (4), v_col over the other one.
    assert state.v_row.shape == (3,)
    assert state.v_col.shape == (4,)


@pytest.mark.parametrize("factored", [True, False])
def test_scale_by_factored_rms_zero_epsilon_zero_gradient(factored):
    tx = optgrad.scale_by_factored_rms(
        factored=factored, min_dim_size_to_factor=1, epsilon=0.0
    )
    params = jnp.ones((3, 2))
    updates, _ = tx.update(jnp.zeros((3, 2)), tx.init(params), params)
    np.testing.assert_array_equal(updates, np.zeros((3, 2)))


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_scale_by_factored_rms_16bit_state_and_large_values(dtype):
    # 300**2 overflows float16; the statistics are kept in float32.
    params = jnp.ones((4, 3), dtype)
    grads = jnp.full((4, 3), 300.0, dtype)
    tx = optgrad.scale_by_factored_rms(min_dim_size_to_factor=1)
    state = tx.init(params)
    assert state.v_row.dtype == jnp.float32
    updates, _ = tx.update(grads, state, params)
    assert updates.dtype == dtype
    np.testing.assert_allclose(np.asarray(updates, np.float32), 1.0, rtol=1e-2)


def test_scale_by_factored_rms_zero_size_and_none_leaves():
    params = {"empty": jnp.zeros((0, 200)), "none": None, "w": jnp.ones((2, 2))}
    tx = optgrad.scale_by_factored_rms(min_dim_size_to_factor=1)
    updates, _ = tx.update(params, tx.init(params), params)
    assert updates["empty"].shape == (0, 200)
    assert updates["none"] is None
    np.testing.assert_allclose(updates["w"], np.ones((2, 2)), rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"min_dim_size_to_factor": 0}, r"must be >= 1"),
        ({"decay_rate": -0.8}, r"decay_rate must be >= 0"),
        ({"epsilon": -1.0}, r"epsilon must be >= 0"),
    ],
)
def test_scale_by_factored_rms_rejects_bad_hyperparameters(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        optgrad.scale_by_factored_rms(**kwargs)


def test_scale_by_factored_rms_rejects_float_factor_size():
    with pytest.raises(TypeError, match="must be an integer"):
        optgrad.scale_by_factored_rms(min_dim_size_to_factor=2.5)


@pytest.mark.parametrize(
    ("value", "scale"),
    [(300.0, jnp.float16), (1e20, jnp.float32), (0.0, jnp.float32)],
    ids=["float16-300", "float32-1e20", "zero"],
)
def test_block_rms_clip_is_safe_at_extremes(value, scale):
    updates = jnp.full((4, 5), value, scale)
    tx = block_rms_clip(2.0, "adafactor")
    clipped, _ = tx.update(updates, tx.init(updates))
    assert clipped.dtype == scale
    expected = min(value, 2.0)
    np.testing.assert_allclose(np.asarray(clipped, np.float32), expected, rtol=1e-3)


def test_block_rms_clip_gradient_finite_at_zero():
    tx = block_rms_clip(1.0, "adafactor")

    def total(u):
        return jnp.sum(tx.update(u, tx.init(u))[0])

    grad = jax.grad(total)(jnp.zeros(3))
    np.testing.assert_array_equal(grad, np.ones(3))


@pytest.mark.parametrize(
    "kwargs", [{}, {"b1": 0.5, "b2": 0.9}, {"b1": 0.0, "eps": 1e-3}]
)
def test_scale_by_sm3_matches_optax(kwargs):
    params = _factored_params()
    del params["s"]  # optax 0.2.8 raises IndexError for scalar params.
    grads = gradient_sequence(params, 4)
    with reference_mode():
        expected, _ = run_updates(optax.scale_by_sm3(**kwargs), params, grads)
    actual, _ = run_updates(optgrad.scale_by_sm3(**kwargs), params, grads)
    for got, want in zip(actual, expected, strict=True):
        tree_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_scale_by_sm3_numpy_reference():
    b1, eps = 0.9, 1e-8
    g = [np.array([[1.0, -2.0, 0.5], [0.1, 3.0, -1.0]]), np.ones((2, 3))]
    tx = optgrad.scale_by_sm3(b1=b1, eps=eps)
    outputs, state = run_updates(tx, jnp.zeros((2, 3)), [jnp.asarray(x) for x in g])
    rows, cols, momentum = np.zeros(2), np.zeros(3), np.zeros((2, 3))
    for x, out in zip(g, outputs, strict=True):
        nu = np.minimum(rows[:, None], cols[None, :]) + x**2
        momentum = b1 * momentum + (1 - b1) * x / np.sqrt(nu + eps)
        rows, cols = nu.max(axis=1), nu.max(axis=0)
        np.testing.assert_allclose(out, momentum, rtol=1e-5)
    np.testing.assert_allclose(state.mu[0], rows, rtol=1e-6)
    np.testing.assert_allclose(state.mu[1], cols, rtol=1e-6)


def test_scale_by_sm3_scalar_and_empty_leaves():
    params = {"s": jnp.asarray(1.0), "empty": jnp.zeros((0, 2)), "none": None}
    tx = optgrad.scale_by_sm3(b1=0.0)
    grads = {"s": jnp.asarray(-3.0), "empty": jnp.zeros((0, 2)), "none": None}
    updates, state = tx.update(grads, tx.init(params), params)
    np.testing.assert_allclose(updates["s"], -3.0 / np.sqrt(9.0 + 1e-8), rtol=1e-6)
    np.testing.assert_allclose(state.mu["s"][0], 9.0)
    assert updates["empty"].shape == (0, 2)
    assert updates["none"] is None


def test_scale_by_sm3_traced_b2():
    params = jnp.ones((2, 3))
    grads = jnp.full((2, 3), 2.0)

    @jax.jit
    def run(b2):
        tx = optgrad.scale_by_sm3(b1=0.0, b2=b2)
        return tx.update(grads, tx.init(params), params)[0]

    # With b2 = 1 the squares are summed (2 / sqrt(4)); below 1 they are
    # weighted by 1 - b2 (2 / sqrt(0.5 * 4)).
    np.testing.assert_allclose(run(jnp.asarray(1.0)), np.ones((2, 3)), rtol=1e-6)
    np.testing.assert_allclose(
        run(jnp.asarray(0.5)), np.full((2, 3), np.sqrt(2.0)), rtol=1e-6
    )


def test_scale_by_sm3_rejects_complex_params():
    tx = optgrad.scale_by_sm3()
    with pytest.raises(TypeError, match=r"\['z'\]"):
        tx.init({"z": jnp.ones(2, jnp.complex64), "w": jnp.ones(2)})


def test_scale_by_sm3_rejects_bad_b2():
    with pytest.raises(ValueError, match=r"scale_by_sm3\(b2=1.5\)"):
        optgrad.scale_by_sm3(b2=1.5)
