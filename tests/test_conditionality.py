"""apply_if_finite, conditionally_transform and conditionally_mask."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode

import optgrad


def _gradient_sequence():
    nan, inf = float("nan"), float("inf")
    return [
        [1.0, 2.0],
        [nan, 1.0],
        [1.0, inf],
        [3.0, 1.0],
        [nan, nan],
        [-inf, 0.0],
        [1.0, nan],
        [2.0, 2.0],
    ]


def _states(library, tx, sequence):
    state = tx.init(jnp.zeros(2))
    step = jax.jit(tx.update)
    records = []
    for g in sequence:
        updates, state = step(jnp.asarray(g, jnp.float32), state)
        records.append(
            (
                np.asarray(updates),
                int(state.notfinite_count),
                bool(state.last_finite),
                int(state.total_notfinite),
            )
        )
    return records


def test_apply_if_finite_counts_and_gives_up():
    records = _states(
        optgrad, optgrad.apply_if_finite(optgrad.sgd(1.0), 2), _gradient_sequence()
    )
    counts = [r[1] for r in records]
    last_finite = [r[2] for r in records]
    totals = [r[3] for r in records]
    assert counts == [0, 1, 2, 0, 1, 2, 3, 0]
    assert last_finite == [True, False, False, True, False, False, False, True]
    assert totals == [0, 1, 2, 2, 3, 4, 5, 5]
    np.testing.assert_array_equal(records[1][0], [0.0, 0.0])
    np.testing.assert_array_equal(records[5][0], [0.0, 0.0])
    # The third non-finite step in a row exceeds max_consecutive_errors=2.
    assert np.isnan(records[6][0][1])
    np.testing.assert_array_equal(records[7][0], [-2.0, -2.0])


def test_apply_if_finite_matches_optax_counters():
    sequence = _gradient_sequence()
    actual = _states(optgrad, optgrad.apply_if_finite(optgrad.adam(0.1), 1), sequence)
    with reference_mode():
        expected = _states(optax, optax.apply_if_finite(optax.adam(0.1), 1), sequence)
    for (u, *counters), (ref_u, *ref_counters) in zip(actual, expected, strict=True):
        assert counters == ref_counters
        # optax rounds Adam's bias correction differently, by about 7e-6
        # relative on the first step.
        np.testing.assert_allclose(u, ref_u, rtol=2e-5)


def test_apply_if_finite_keeps_inner_state_on_skip():
    tx = optgrad.apply_if_finite(optgrad.adam(0.1), 5)
    state = tx.init(jnp.zeros(2))
    _, state = tx.update(jnp.ones(2), state)
    _, skipped = tx.update(jnp.array([jnp.nan, 1.0]), state)
    for before, after in zip(
        jax.tree.leaves(state.inner_state),
        jax.tree.leaves(skipped.inner_state),
        strict=True,
    ):
        np.testing.assert_array_equal(before, after)


def test_apply_if_finite_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"max_consecutive_errors=-1\) must be >= 0"):
        optgrad.apply_if_finite(optgrad.sgd(0.1), -1)
    with pytest.raises(TypeError, match="Call the factory first"):
        optgrad.apply_if_finite(optgrad.adam, 1)


def test_conditionally_transform_passes_updates_through():
    tx = optgrad.conditionally_transform(
        optgrad.sgd(1.0, momentum=0.5), lambda step: step >= 2
    )
    state = tx.init(jnp.zeros(2))
    outputs = []
    for _ in range(4):
        updates, state = jax.jit(tx.update)(jnp.ones(2), state)
        outputs.append(np.asarray(updates).tolist())
    # The momentum buffer starts at the first transformed step.
    assert outputs == [[1.0, 1.0], [1.0, 1.0], [-1.0, -1.0], [-1.5, -1.5]]
    assert int(state.step) == 4


def test_conditionally_mask_returns_zeros_and_keeps_state():
    tx = optgrad.conditionally_mask(
        optgrad.sgd(1.0, momentum=0.5), lambda step: step % 2 == 1
    )
    state = tx.init(jnp.zeros(2))
    outputs = []
    for _ in range(4):
        updates, state = jax.jit(tx.update)(jnp.ones(2), state)
        outputs.append(np.asarray(updates).tolist())
    assert outputs == [[0.0, 0.0], [-1.0, -1.0], [0.0, 0.0], [-1.5, -1.5]]
    assert int(state.step) == 4


@pytest.mark.parametrize(
    "wrapper", [optgrad.conditionally_transform, optgrad.conditionally_mask]
)
def test_condition_sees_extra_args_when_forwarded(wrapper):
    def should_transform(step, *, value):
        return value > 1.0

    tx = wrapper(optgrad.scale(3.0), should_transform, forward_extra_args=True)
    state = tx.init(jnp.zeros(1))
    updates, _ = tx.update(jnp.ones(1), state, value=jnp.float32(2.0))
    assert updates.tolist() == [3.0]
    updates, _ = tx.update(jnp.ones(1), state, value=jnp.float32(0.5))
    assert updates.tolist() in ([1.0], [0.0])


@pytest.mark.parametrize(
    "wrapper", [optgrad.conditionally_transform, optgrad.conditionally_mask]
)
def test_condition_must_be_scalar(wrapper):
    tx = wrapper(optgrad.scale(3.0), lambda step: jnp.ones(2, bool))
    with pytest.raises(ValueError, match=r"scalar condition.*shape \(2,\)"):
        tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))


def test_condition_must_be_callable():
    with pytest.raises(TypeError, match="should_transform_fn"):
        optgrad.conditionally_mask(optgrad.scale(1.0), True)
