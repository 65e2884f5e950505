"""Transforms that use only the signs of the gradients: sign and Rprop."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformation
from optgrad._typing import Updates
from optgrad.transforms._leaf_math import reject_complex, stateless_init


def scale_by_sign() -> GradientTransformation:
    """Replace every update element by its sign: -1, 0 or 1.

    For complex updates the sign is ``u / |u|`` (0 at 0). ``sign_sgd`` and
    ``signum`` are built on it.

    Returns:
        A stateless ``GradientTransformation``.
    """
    name = "scale_by_sign"

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update", ("updates", updates), ("params", params)
        )
        return jax.tree.map(jnp.sign, updates), state

    return GradientTransformation(stateless_init(name), update_fn)


class ScaleByRpropState(NamedTuple):
    """State of ``scale_by_rprop``."""

    step_sizes: Updates  # The current step size of every element.
    prev_updates: Updates  # The previous step, ``step_size * sign(g)`` or 0.


def check_rprop_args(
    name: str,
    learning_rate: Any,
    eta_minus: Any,
    eta_plus: Any,
    min_step_size: Any,
    max_step_size: Any,
) -> None:
    """Check the hyperparameters of Rprop, naming the call ``name`` in errors."""
    if callable(learning_rate):
        raise TypeError(
            f"{name}(learning_rate=...) is the initial step size of every element "
            "and must be a number, not a schedule."
        )
    _validate.check_positive(name, "learning_rate", learning_rate)
    _validate.check_range(name, "eta_minus", eta_minus, 0.0, 1.0)
    _validate.check_range(name, "eta_plus", eta_plus, low=1.0)
    _validate.check_non_negative(name, "min_step_size", min_step_size)
    smallest = _validate.concrete_scalar(min_step_size)
    _validate.check_range(
        name, "max_step_size", max_step_size, low=0.0 if smallest is None else smallest
    )


def scale_by_rprop(
    learning_rate: float,
    eta_minus: float = 0.5,
    eta_plus: float = 1.2,
    min_step_size: float = 1e-6,
    max_step_size: float = 50.0,
) -> GradientTransformation:
    """Adapt a step size per element from sign agreements of the gradients.

    The update rule and the references are in ``optgrad.rprop``. The output
    is the step along the gradient (``step_size * sign(g)``), which
    ``rprop`` negates.

    Args:
        learning_rate: The initial step size of every element, > 0. A
            number, not a schedule, because it is only used by ``init``.
        eta_minus: Factor applied to the step size when the gradient changes
            sign, in [0, 1].
        eta_plus: Factor applied when the sign is kept, >= 1.
        min_step_size: The smallest step size, >= 0.
        max_step_size: The largest step size, >= ``min_step_size``.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByRpropState``.

    Raises:
        TypeError: At ``init``, for complex params.
    """
    name = "scale_by_rprop"
    check_rprop_args(
        name, learning_rate, eta_minus, eta_plus, min_step_size, max_step_size
    )

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        reject_complex(name, params)
        return ScaleByRpropState(
            step_sizes=jax.tree.map(
                lambda p: jnp.full_like(
                    p, learning_rate, dtype=tree.moment_dtype(p.dtype)
                ),
                params,
            ),
            prev_updates=tree.moment_zeros_like(params),
        )

    def leaf(g, step, previous):
        dtype = tree.promote(tree.compute_dtype(g.dtype), step.dtype)
        direction = jnp.sign(g.astype(dtype))
        # Comparing signs, not the product g * previous, keeps the test
        # exact when that product would underflow to zero.
        agreement = direction * jnp.sign(previous.astype(dtype))
        factor = jnp.where(
            agreement > 0,
            jnp.asarray(eta_plus).astype(dtype),
            jnp.asarray(eta_minus).astype(dtype),
        )
        resized = jnp.clip(
            step.astype(dtype) * factor,
            jnp.asarray(min_step_size).astype(dtype),
            jnp.asarray(max_step_size).astype(dtype),
        )
        new_step = jnp.where(agreement == 0, step.astype(dtype), resized)
        # After a sign change the step is skipped and the next one starts
        # fresh, as in Rprop without weight backtracking.
        new_previous = jnp.where(agreement < 0, 0, new_step * direction)
        return (
            new_previous.astype(g.dtype),
            new_step.astype(step.dtype),
            new_previous.astype(previous.dtype),
        )

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update",
            ("updates", updates),
            ("params", params),
            ("state.step_sizes", state.step_sizes),
            ("state.prev_updates", state.prev_updates),
        )
        updates, steps, previous = tree.map_unzip(
            leaf, 3, updates, state.step_sizes, state.prev_updates
        )
        return updates, ScaleByRpropState(step_sizes=steps, prev_updates=previous)

    return GradientTransformation(init_fn, update_fn)
