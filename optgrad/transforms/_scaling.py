"""Scaling by constants, learning rates and schedules."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import EmptyState, GradientTransformation
from optgrad._numerics import safe_increment
from optgrad._typing import ScalarOrSchedule, Schedule

ScaleState = EmptyState


def _scale_leaf(g: jax.Array, factor: jax.typing.ArrayLike) -> jax.Array:
    g_wide = tree.widen(g)
    return (g_wide * jnp.asarray(factor).astype(g_wide.dtype)).astype(g.dtype)


def scale(step_size: float | jax.Array) -> GradientTransformation:
    """Multiply every update by ``step_size``.

    The product is computed in at least float32 and cast back to each
    update's dtype.

    Args:
        step_size: A scalar factor; negative values flip the direction.

    Returns:
        A stateless ``GradientTransformation``.
    """
    _validate.check_range("scale", "step_size", step_size)

    def init_fn(params):
        tree.check_float_params("scale.init", params)
        return ScaleState()

    def update_fn(updates, state, params=None):
        tree.check_same_shapes("scale.update", ("updates", updates), ("params", params))
        return jax.tree.map(lambda g: _scale_leaf(g, step_size), updates), state

    return GradientTransformation(init_fn, update_fn)


class ScaleByScheduleState(NamedTuple):
    """State of ``scale_by_schedule``."""

    count: jax.Array  # int32 scalar: the number of updates so far.


def scale_by_schedule(step_size_fn: Schedule) -> GradientTransformation:
    """Multiply every update by ``step_size_fn(count)``.

    ``count`` starts at 0 and grows by one per update, so the first update
    uses ``step_size_fn(0)``.

    Args:
        step_size_fn: A function of the (traced) int32 update count.

    Returns:
        A ``GradientTransformation`` whose state counts the updates.
    """
    if not callable(step_size_fn):
        raise TypeError(
            "scale_by_schedule(step_size_fn=...) must be a function of the step "
            f"count, got {type(step_size_fn).__name__}. Use optgrad.scale for a "
            "constant."
        )

    def init_fn(params):
        tree.check_float_params("scale_by_schedule.init", params)
        return ScaleByScheduleState(count=jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            "scale_by_schedule.update", ("updates", updates), ("params", params)
        )
        step_size = step_size_fn(state.count)
        updates = jax.tree.map(lambda g: _scale_leaf(g, step_size), updates)
        return updates, ScaleByScheduleState(count=safe_increment(state.count))

    return GradientTransformation(init_fn, update_fn)


def scale_by_learning_rate(
    learning_rate: ScalarOrSchedule, *, flip_sign: bool = True
) -> GradientTransformation:
    """Multiply updates by the learning rate, negated by default for descent.

    Args:
        learning_rate: A scalar, or a schedule called with the update count.
        flip_sign: Multiply by ``-learning_rate`` so that adding the updates
            to the params descends the loss.

    Returns:
        ``scale`` for a scalar, ``scale_by_schedule`` for a schedule.
    """
    _validate.check_scalar_or_schedule(
        "scale_by_learning_rate", "learning_rate", learning_rate
    )
    sign = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(lambda count: sign * learning_rate(count))
    return scale(sign * learning_rate)
