"""Scaling the updates down when a monitored loss stops improving."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformationExtraArgs
from optgrad._numerics import safe_increment


class ReduceLROnPlateauState(NamedTuple):
    """State of ``reduce_on_plateau``."""

    scale: jax.Array  # The factor applied to the updates, from 1 down.
    best_value: jax.Array  # The lowest averaged value so far (inf at first).
    plateau_count: jax.Array  # int32: evaluations without improvement.
    cooldown_count: jax.Array  # int32: evaluations left before counting again.
    count: jax.Array  # int32: values in the current average.
    avg_value: jax.Array  # Mean of the values since the last evaluation.


def _state_dtype(params: Any) -> Any:
    """Return the widest real compute dtype of the float leaves, or float32."""
    dtypes = [
        tree.real_dtype(tree.compute_dtype(jnp.asarray(x).dtype))
        for x in jax.tree.leaves(params)
        if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)
    ]
    return tree.promote(jnp.float32, *dtypes)


def reduce_on_plateau(
    factor: float = 0.1,
    patience: int = 10,
    rtol: float = 1e-4,
    atol: float = 0.0,
    cooldown: int = 0,
    accumulation_size: int = 1,
    min_scale: float = 0.0,
) -> GradientTransformationExtraArgs:
    """Multiply the updates by a scale that drops when a loss stops improving.

    ``update`` takes the monitored loss as ``value=``. The values of
    ``accumulation_size`` calls are averaged into one evaluation. An
    evaluation improves when the average is below ``(1 - rtol) * best -
    atol``. After ``patience`` evaluations in a row without improvement the
    scale is multiplied by ``factor`` (but not below ``min_scale``), and the
    next ``cooldown`` evaluations cannot lower it again. Chain it after the
    optimizer to scale its learning rate.

    Args:
        factor: The multiplier of the scale at a plateau, in (0, 1).
        patience: Evaluations without improvement before the scale drops,
            a whole number >= 1.
        rtol: Relative improvement needed, in [0, 1].
        atol: Absolute improvement needed, >= 0. ``rtol`` and ``atol``
            cannot both be 0.
        cooldown: Evaluations after a drop during which no plateau is
            counted, a whole number >= 0.
        accumulation_size: Calls averaged into one evaluation, a whole
            number >= 1. Use 1 for a validation loss, and more for noisy
            mini-batch losses.
        min_scale: The lowest scale, in [0, 1].

    Returns:
        A ``GradientTransformationExtraArgs`` with a
        ``ReduceLROnPlateauState``. Its ``update`` needs ``value=``.

    Raises:
        ValueError: At construction, for an argument out of its range.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> tx = optgrad.reduce_on_plateau(factor=0.5, patience=2)
        >>> state = tx.init(jnp.zeros(1))
        >>> for loss in [3.0, 3.0, 3.0, 3.0, 3.0]:
        ...     updates, state = tx.update(jnp.ones(1), state, value=loss)
        ...     print(float(state.scale))
        1.0
        1.0
        0.5
        0.5
        0.25

    Notes:
        optax 0.2.8 (in ``optax.contrib``) keeps the scale in the lowest
        and the loss averages in the highest dtype of the params. For
        bfloat16 params both are bfloat16, where the factor 0.1 is
        0.10009765625 and no improvement below 0.4% registers. Here they are
        float32 for 16-bit params. optax also reduces the scale at every
        improvement when ``patience=0``, which raises ``ValueError`` here.
    """
    name = "reduce_on_plateau"
    _validate.check_range(
        name, "factor", factor, 0.0, 1.0, low_open=True, high_open=True
    )
    _validate.check_whole_number(name, "patience", patience, minimum=1)
    _validate.check_range(name, "rtol", rtol, 0.0, 1.0)
    _validate.check_non_negative(name, "atol", atol)
    if (
        _validate.concrete_scalar(rtol) == 0.0
        and _validate.concrete_scalar(atol) == 0.0
    ):
        raise ValueError(
            f"{name}(rtol=0.0, atol=0.0) counts any decrease, however small, as "
            "an improvement. Set rtol or atol above 0 (rtol=1e-4, say)."
        )
    _validate.check_whole_number(name, "cooldown", cooldown, minimum=0)
    _validate.check_whole_number(
        name, "accumulation_size", accumulation_size, minimum=1
    )
    _validate.check_range(name, "min_scale", min_scale, 0.0, 1.0)

    def init_fn(params):
        dtype = _state_dtype(params)
        return ReduceLROnPlateauState(
            scale=jnp.ones([], dtype),
            best_value=jnp.full([], jnp.inf, dtype),
            plateau_count=jnp.zeros([], jnp.int32),
            cooldown_count=jnp.zeros([], jnp.int32),
            count=jnp.zeros([], jnp.int32),
            avg_value=jnp.zeros([], dtype),
        )

    def evaluate(state):
        dtype = state.best_value.dtype
        threshold = (1 - jnp.asarray(rtol).astype(dtype)) * state.best_value
        improved = state.avg_value < threshold - jnp.asarray(atol).astype(dtype)
        best_value = jnp.where(improved, state.avg_value, state.best_value)
        plateau_count = jnp.where(improved, 0, safe_increment(state.plateau_count))
        cooling = state.cooldown_count > 0
        reduce = ~cooling & (plateau_count >= patience)
        lowered = jnp.where(
            reduce, state.scale * jnp.asarray(factor).astype(dtype), state.scale
        )
        scale = jnp.where(
            cooling,
            state.scale,
            jnp.maximum(lowered, jnp.asarray(min_scale).astype(dtype)),
        )
        cooldown_count = jnp.where(
            cooling,
            state.cooldown_count - 1,
            jnp.where(reduce, jnp.asarray(cooldown).astype(jnp.int32), 0),
        )
        return ReduceLROnPlateauState(
            scale=scale,
            best_value=best_value,
            plateau_count=jnp.where(cooling | reduce, 0, plateau_count),
            cooldown_count=cooldown_count,
            count=jnp.zeros([], jnp.int32),
            avg_value=jnp.zeros([], dtype),
        )

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del params, extra_args
        if value is None:
            raise TypeError(
                f"{name}.update needs the monitored loss: call "
                "update(updates, state, params, value=loss), or pass value= to "
                "the update of the chain that contains it."
            )
        value = jnp.asarray(value)
        if value.shape != ():
            raise ValueError(
                f"{name}.update(value=...) must be a scalar loss, got an array of "
                f"shape {value.shape}. Average the per-example losses first."
            )
        dtype = state.avg_value.dtype
        count = safe_increment(state.count)
        # The running mean of the values seen since the last evaluation.
        avg_value = (
            state.count.astype(dtype) * state.avg_value + value.astype(dtype)
        ) / count.astype(dtype)
        state = state._replace(avg_value=avg_value, count=count)
        state = jax.lax.cond(count >= accumulation_size, evaluate, lambda s: s, state)

        def leaf(g):
            g = jnp.asarray(g)
            g_wide = tree.widen(g)
            return (g_wide * state.scale.astype(g_wide.dtype)).astype(g.dtype)

        return jax.tree.map(leaf, updates), state

    return GradientTransformationExtraArgs(init_fn, update_fn)
