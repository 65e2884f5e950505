"""MultiSteps, apply_every and the skip functions."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose

import optgrad


def _micro_batches(count, seed=0):
    rng = np.random.default_rng(seed)
    return [
        {"w": jnp.asarray(rng.normal(size=(3, 2)), jnp.float32), "b": jnp.float32(i)}
        for i in range(count)
    ]


def _params():
    return {"w": jnp.ones((3, 2)), "b": jnp.float32(0.5)}


def _run_steps(tx, grads_list, params):
    step = jax.jit(tx.update)
    state = tx.init(params)
    outputs = []
    for grads in grads_list:
        updates, state = step(grads, state, params)
        outputs.append(updates)
    return outputs, state


@pytest.mark.parametrize(
    "make_opt",
    [lambda: optgrad.sgd(0.1, momentum=0.9), lambda: optgrad.adam(0.05)],
    ids=["sgd_momentum", "adam"],
)
@pytest.mark.parametrize("k", [1, 4])
def test_accumulation_equals_step_on_mean_gradient(make_opt, k):
    params = _params()
    grads_list = _micro_batches(3 * k)
    multi = optgrad.MultiSteps(make_opt(), every_k_schedule=k)
    outputs, _ = _run_steps(multi, grads_list, params)

    plain = make_opt()
    windows = [grads_list[i : i + k] for i in range(0, len(grads_list), k)]
    means = [
        jax.tree.map(lambda *g: jnp.mean(jnp.stack(g), axis=0), *w) for w in windows
    ]
    expected, _ = _run_steps(plain, means, params)
    for window in range(3):
        emitted = outputs[(window + 1) * k - 1]
        tree_allclose(emitted, expected[window], rtol=1e-6, atol=1e-7)


def test_sum_when_use_grad_mean_is_false():
    params = _params()
    grads_list = _micro_batches(3)
    multi = optgrad.MultiSteps(optgrad.sgd(1.0), 3, use_grad_mean=False)
    outputs, _ = _run_steps(multi, grads_list, params)
    total = jax.tree.map(
        lambda *g: -sum(np.asarray(x, np.float64) for x in g), *grads_list
    )
    tree_allclose(outputs[2], total, rtol=1e-6, atol=1e-6)


def test_steps_between_emissions_are_exact_zeros():
    params = _params()
    outputs, state = _run_steps(
        optgrad.MultiSteps(optgrad.adam(0.1), 3), _micro_batches(5), params
    )
    for index in (0, 1, 3, 4):
        for leaf in jax.tree.leaves(outputs[index]):
            np.testing.assert_array_equal(leaf, np.zeros_like(leaf))
    assert int(state.mini_step) == 2
    assert int(state.gradient_step) == 1


def test_nan_stays_in_its_window():
    params = _params()
    grads_list = _micro_batches(9)
    grads_list[4] = {**grads_list[4], "w": grads_list[4]["w"].at[0, 0].set(jnp.nan)}
    multi = optgrad.MultiSteps(optgrad.sgd(1.0), every_k_schedule=3)
    outputs, state = _run_steps(multi, grads_list, params)

    # The window with the NaN emits NaN, and everything else stays clean.
    assert np.isnan(np.asarray(outputs[5]["w"][0, 0]))
    for index in (0, 1, 3, 4, 6, 7):
        for leaf in jax.tree.leaves(outputs[index]):
            np.testing.assert_array_equal(leaf, np.zeros_like(leaf))
    window = grads_list[6:9]
    expected = jax.tree.map(lambda *g: -np.mean(np.stack(g), axis=0), *window)
    tree_allclose(outputs[8], expected, rtol=1e-6, atol=1e-7)
    for leaf in jax.tree.leaves(state.acc_grads):
        np.testing.assert_array_equal(leaf, np.zeros_like(leaf))

    # optax 0.2.8 multiplies the NaN accumulator by zero and stays NaN.
    with reference_mode():
        reference = optax.MultiSteps(optax.sgd(1.0), every_k_schedule=3)
        ref_outputs, _ = _run_steps(reference, grads_list, params)
    assert np.isnan(np.asarray(ref_outputs[7]["w"][0, 0]))
    assert np.isnan(np.asarray(ref_outputs[8]["w"][0, 0]))


def test_skip_not_finite_drops_the_micro_batch():
    params = _params()
    grads_list = _micro_batches(4)
    bad = {**grads_list[1], "w": grads_list[1]["w"].at[1, 1].set(jnp.inf)}
    multi = optgrad.MultiSteps(
        optgrad.sgd(1.0), 3, should_skip_update_fn=optgrad.skip_not_finite
    )
    outputs, state = _run_steps(multi, [grads_list[0], bad, *grads_list[2:]], params)
    assert int(state.gradient_step) == 1
    assert int(state.skip_state["num_not_finite"]) == 0
    expected = jax.tree.map(
        lambda *g: -np.mean(np.stack(g), axis=0),
        grads_list[0],
        grads_list[2],
        grads_list[3],
    )
    tree_allclose(outputs[3], expected, rtol=1e-6, atol=1e-7)


def test_skip_not_finite_counts():
    updates = {"a": jnp.array([1.0, jnp.nan, jnp.inf]), "b": jnp.array(-jnp.inf)}
    skip, info = optgrad.skip_not_finite(updates, jnp.int32(0), None)
    assert bool(skip)
    assert int(info["num_not_finite"]) == 3
    assert info["num_not_finite"].dtype == jnp.int32
    skip, info = optgrad.skip_not_finite({"a": jnp.ones(2)}, jnp.int32(0), None)
    assert not bool(skip)


@pytest.mark.parametrize(
    ("values", "skipped"),
    [([3.0, 4.0], False), ([6.0, 8.0], True), ([jnp.nan, 0.0], True)],
    ids=["below", "above", "nan"],
)
def test_skip_large_updates(values, skipped):
    updates = {"a": jnp.array(values)}
    skip, info = optgrad.skip_large_updates(
        updates, jnp.int32(0), None, max_squared_norm=30.0
    )
    assert bool(skip) == skipped
    np.testing.assert_allclose(info["norm_squared"], np.sum(np.square(values)))


def test_every_k_schedule_changes_window_length():
    params = _params()
    multi = optgrad.MultiSteps(
        optgrad.sgd(1.0), every_k_schedule=lambda step: jnp.where(step < 2, 1, 3)
    )
    state = multi.init(params)
    step = jax.jit(multi.update)
    emitted = []
    for grads in _micro_batches(8):
        _, state = step(grads, state, params)
        emitted.append(bool(multi.has_updated(state)))
    assert emitted == [True, True, False, False, True, False, False, True]


def test_multi_steps_forwards_extra_args():
    seen = []

    def update_fn(updates, state, params=None, **extra):
        seen.append(sorted(extra))
        return updates, state

    inner = optgrad.GradientTransformationExtraArgs(optgrad.init_empty_state, update_fn)
    tx = optgrad.MultiSteps(inner, 2).gradient_transformation()
    assert isinstance(tx, optgrad.GradientTransformationExtraArgs)
    params = _params()
    tx.update(params, tx.init(params), params, value=jnp.float32(1.0))
    assert ["value"] in seen


def test_multi_steps_accumulator_dtypes():
    params = {
        "half": jnp.ones(2, jnp.bfloat16),
        "complex": jnp.ones(2, jnp.complex64),
        "double": jnp.ones(2, jnp.float32),
    }
    state = optgrad.MultiSteps(optgrad.sgd(0.1), 2).init(params)
    assert state.acc_grads["half"].dtype == jnp.float32
    assert state.acc_grads["complex"].dtype == jnp.complex64
    state = optgrad.MultiSteps(optgrad.sgd(0.1), 2, accumulator_dtype=None).init(params)
    assert state.acc_grads["half"].dtype == jnp.float32


def test_multi_steps_keeps_imaginary_part():
    params = jnp.zeros(2, jnp.complex64)
    multi = optgrad.MultiSteps(optgrad.sgd(1.0), 2)
    grads = [jnp.array([1 + 2j, 3j], jnp.complex64), jnp.array([1j, 1], jnp.complex64)]
    outputs, _ = _run_steps(multi, grads, params)
    np.testing.assert_allclose(outputs[1], -np.mean(np.stack(grads), axis=0))


def test_multi_steps_rejects_bad_arguments():
    with pytest.raises(TypeError, match=r"MultiSteps\(opt=...\) must be a gradient"):
        optgrad.MultiSteps(optgrad.sgd, 2)
    with pytest.raises(ValueError, match=r"every_k_schedule=0\) must be >= 1"):
        optgrad.MultiSteps(optgrad.sgd(0.1), 0)
    with pytest.raises(TypeError, match="should_skip_update_fn"):
        optgrad.MultiSteps(optgrad.sgd(0.1), 2, should_skip_update_fn=True)


def test_multi_steps_rejects_non_boolean_skip_decision():
    multi = optgrad.MultiSteps(
        optgrad.sgd(0.1),
        2,
        should_skip_update_fn=lambda u, step, p: (jnp.zeros(3, bool), ()),
    )
    params = _params()
    with pytest.raises(ValueError, match=r"boolean scalar.*shape \(3,\)"):
        multi.update(params, multi.init(params), params)


def test_multi_steps_matches_optax_skip_state():
    params = _params()
    grads_list = _micro_batches(4)
    skip_fn = functools.partial(optgrad.skip_large_updates, max_squared_norm=10.0)
    _, state = _run_steps(
        optgrad.MultiSteps(optgrad.adam(0.1), 2, should_skip_update_fn=skip_fn),
        grads_list,
        params,
    )
    with reference_mode():
        ref_fn = functools.partial(optax.skip_large_updates, max_squared_norm=10.0)
        _, ref_state = _run_steps(
            optax.MultiSteps(optax.adam(0.1), 2, should_skip_update_fn=ref_fn),
            grads_list,
            params,
        )
    assert int(state.mini_step) == int(ref_state.mini_step)
    assert int(state.gradient_step) == int(ref_state.gradient_step)
    tree_allclose(state.skip_state, ref_state.skip_state)
    tree_allclose(
        jax.tree.leaves(state.inner_opt_state),
        jax.tree.leaves(ref_state.inner_opt_state),
    )


def test_apply_every_matches_numpy():
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(7, 3)).astype(np.float32)
    tx = optgrad.apply_every(3)
    state = tx.init(jnp.zeros(3))
    step = jax.jit(tx.update)
    total = np.zeros(3)
    for index, g in enumerate(grads):
        updates, state = step(jnp.asarray(g), state)
        total = total + g
        if index % 3 == 2:
            np.testing.assert_allclose(updates, total, rtol=1e-6)
            total = np.zeros(3)
        else:
            np.testing.assert_array_equal(updates, np.zeros(3))


def test_apply_every_recovers_after_nan():
    tx = optgrad.apply_every(2)
    state = tx.init(jnp.zeros(2))
    step = jax.jit(tx.update)
    sequence = [[1.0, jnp.nan], [1.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    outputs = []
    for g in sequence:
        updates, state = step(jnp.asarray(g), state)
        outputs.append(np.asarray(updates))
    assert np.isnan(outputs[1][1])
    np.testing.assert_array_equal(outputs[2], [0.0, 0.0])
    np.testing.assert_array_equal(outputs[3], [6.0, 8.0])


@pytest.mark.parametrize("k", [0, 1.5, -2])
def test_apply_every_rejects_bad_k(k):
    with pytest.raises((ValueError, TypeError), match="apply_every"):
        optgrad.apply_every(k)
