"""Optimistic gradients: extrapolating from the previous gradient."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformation
from optgrad._typing import Updates


class ScaleByOptimisticGradientState(NamedTuple):
    """State of ``scale_by_optimistic_gradient``."""

    is_initial_step: jax.Array  # bool scalar: no gradient has been seen yet.
    previous_gradient: Updates  # The incoming updates of the previous step.


def check_optimistic_args(name: str, alpha: Any, beta: Any) -> None:
    """Check ``alpha`` and ``beta``, naming the call ``name`` in errors."""
    for arg, value in (("alpha", alpha), ("beta", beta)):
        if callable(value):
            raise TypeError(
                f"{name}({arg}=...) must be a number. Schedules are not "
                "supported because the state keeps no step count."
            )
        _validate.check_non_negative(name, arg, value)


def scale_by_optimistic_gradient(
    alpha: float = 1.0, beta: float = 1.0
) -> GradientTransformation:
    """Extrapolate from the last gradient: ``(alpha + beta) * g - beta * g_prev``.

    At the first step the previous gradient is taken to be the current
    one, so the output is ``alpha * g``. The optimizer and the reference are
    in ``optgrad.optimistic_gradient_descent``.

    Args:
        alpha: Weight of the current gradient, >= 0.
        beta: Weight of the correction by the previous gradient (negative
            momentum), >= 0.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByOptimisticGradientState``.
    """
    name = "scale_by_optimistic_gradient"
    check_optimistic_args(name, alpha, beta)

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return ScaleByOptimisticGradientState(
            is_initial_step=jnp.asarray(True),
            previous_gradient=tree.moment_zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update",
            ("updates", updates),
            ("params", params),
            ("state.previous_gradient", state.previous_gradient),
        )

        def leaf(g, previous):
            dtype = tree.promote(tree.compute_dtype(g.dtype), previous.dtype)
            g_wide = g.astype(dtype)
            prior = jnp.where(state.is_initial_step, g_wide, previous.astype(dtype))
            a = jnp.asarray(alpha).astype(dtype)
            b = jnp.asarray(beta).astype(dtype)
            out = (a + b) * g_wide - b * prior
            return out.astype(g.dtype), g_wide.astype(previous.dtype)

        updates, previous = tree.map_unzip(leaf, 2, updates, state.previous_gradient)
        new_state = ScaleByOptimisticGradientState(
            is_initial_step=jnp.zeros_like(state.is_initial_step),
            previous_gradient=previous,
        )
        return updates, new_state

    return GradientTransformation(init_fn, update_fn)
