"""snapshot, monitor, measure_with_ema and track_norms."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import problems
import pytest
import trajectory
from helpers import reference_mode

import optgrad


def _measured(library, threshold=5.0):
    return library.chain(
        library.sgd(0.05, momentum=0.9),
        library.monitor(
            {
                "norm": library.tree.norm,
                "clipped_ema": library.measure_with_ema(
                    lambda u: library.tree.norm(u) > threshold, decay=0.8
                ),
                "norm_ema_biased": library.measure_with_ema(
                    library.tree.norm, decay=0.5, debias=False
                ),
            }
        ),
        library.snapshot("max_embed", lambda u: jnp.max(u["embed"])),
    )


def _measurements(library, steps=12):
    tx = _measured(library)

    # optax's state changes structure at the first update, so this step is
    # traced twice for optax and cannot run in a lax.scan.
    @jax.jit
    def step(params, state):
        updates, state = tx.update(problems.grad(params), state, params)
        return library.apply_updates(params, updates), state

    params = problems.initial_params()
    state = tx.init(params)
    records = []
    for _ in range(steps):
        params, state = step(params, state)
        records.append(
            {**state[1].measurements, "max_embed": state[2].measurement["max_embed"]}
        )
    return records


def test_measurements_match_optax():
    with reference_mode():
        expected = _measurements(optax)
    actual = _measurements(optgrad)
    for step, (got, want) in enumerate(zip(actual, expected, strict=True)):
        assert set(got) == set(want)
        for name in want:
            np.testing.assert_allclose(
                np.asarray(got[name], np.float64),
                np.asarray(want[name], np.float64),
                rtol=1e-5,
                err_msg=f"{name} at step {step}",
            )


def test_monitor_state_is_stable_for_scan():
    tx = _measured(optgrad)
    params = problems.initial_params()
    state = tx.init(params)
    _, new_state = jax.eval_shape(tx.update, problems.grad(params), state, params)
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    old = [(x.shape, x.dtype) for x in jax.tree.leaves(state)]
    new = [(x.shape, x.dtype) for x in jax.tree.leaves(new_state)]
    assert new == old
    assert state[1].measurements["clipped_ema"].dtype == jnp.float32


def test_measure_with_ema_of_boolean_matches_numpy():
    decay = 0.8
    flags = [True, False, True, True]
    tx = optgrad.measure_with_ema(lambda u: u > 0, decay=decay)
    state = tx.init(jnp.float32(0.0))
    average = 0.0
    for count, flag in enumerate(flags, start=1):
        value, state = tx.update(jnp.float32(1.0 if flag else -1.0), state)
        average = (1 - decay) * flag + decay * average
        np.testing.assert_allclose(value, average / (1 - decay**count), rtol=1e-6)


def test_snapshot_stores_measurement():
    tx = optgrad.snapshot("sum", lambda u: jnp.sum(u))
    state = tx.init(jnp.ones(3))
    assert float(state.measurement["sum"]) == 3.0
    updates, state = tx.update(jnp.arange(3.0), state)
    np.testing.assert_array_equal(updates, [0.0, 1.0, 2.0])
    assert float(state.measurement["sum"]) == 3.0


def test_monitor_rejects_bad_measure():
    with pytest.raises(TypeError, match="maps 'x' to int"):
        optgrad.monitor({"x": 3})


def test_track_norms_matches_numpy_over_steps():
    tx = optgrad.track_norms(optgrad.adam(0.05))

    def record(state):
        return state.gradient_norm, state.update_norm

    params = problems.initial_params()
    trajectory_params, (gradient_norms, update_norms) = trajectory.run(
        optgrad, tx, 20, record=record
    )
    previous = [params] + [
        jax.tree.map(lambda x, i=i: x[i], trajectory_params) for i in range(19)
    ]
    for step in range(20):
        grads = problems.grad(previous[step])
        flat = np.concatenate([np.ravel(g) for g in jax.tree.leaves(grads)])
        np.testing.assert_allclose(
            gradient_norms[step], np.linalg.norm(flat), rtol=1e-5
        )
        after = jax.tree.map(lambda x, i=step: x[i], trajectory_params)
        moved = [
            np.ravel(np.asarray(a, np.float64) - np.asarray(b, np.float64))
            for a, b in zip(
                jax.tree.leaves(after), jax.tree.leaves(previous[step]), strict=True
            )
        ]
        np.testing.assert_allclose(
            update_norms[step], np.linalg.norm(np.concatenate(moved)), rtol=1e-4
        )


def test_track_norms_huge_and_empty_gradients():
    tx = optgrad.track_norms(optgrad.scale(1e-30))
    params = {"w": jnp.full(4, 1e20, jnp.float32), "none": None, "empty": {}}
    _, state = jax.jit(tx.update)(params, tx.init(params), params)
    np.testing.assert_allclose(state.gradient_norm, 2e20, rtol=1e-6)
    np.testing.assert_allclose(state.update_norm, 2e-10, rtol=1e-6)
    assert state.gradient_norm.dtype == jnp.float32

    empty = {"none": None}
    _, state = tx.update(empty, tx.init(empty), empty)
    assert float(state.gradient_norm) == 0.0


def test_track_norms_forwards_extra_args():
    def update_fn(updates, state, params=None, *, value):
        return jax.tree.map(lambda u: u * value, updates), state

    scale_by_value = optgrad.GradientTransformationExtraArgs(
        optgrad.init_empty_state, update_fn
    )
    tx = optgrad.chain(optgrad.track_norms(scale_by_value))
    state = tx.init(jnp.zeros(2))
    _, state = tx.update(jnp.array([3.0, 4.0]), state, value=jnp.float32(0.5))
    assert float(state[0].gradient_norm) == 5.0
    assert float(state[0].update_norm) == 2.5
