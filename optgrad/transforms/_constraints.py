"""Constraints on updates: ``keep_params_nonnegative`` and ``zero_nans``."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _messages, tree
from optgrad._base import EmptyState, GradientTransformation
from optgrad.transforms._leaf import cast_to, compute_dtype_of

NonNegativeParamsState = EmptyState


def keep_params_nonnegative() -> GradientTransformation:
    """Change the updates so that no param falls below zero when applied.

    Where ``p + u < 0`` the update becomes ``-p``, which lands the param on
    zero. Put it last in a ``chain``, after the learning rate, because it
    looks at the final update. A param that is already negative is moved to
    zero by its next update.

    Returns:
        A stateless ``GradientTransformation``; its ``update`` needs the
        params.
    """
    name = "keep_params_nonnegative"

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return NonNegativeParamsState()

    def leaf(u, p):
        dtype = compute_dtype_of(u, p)
        u_wide, p_wide = cast_to(dtype, u, p)
        return jnp.where(p_wide + u_wide < 0, -p_wide, u_wide).astype(u.dtype)

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError(_messages.missing_params(name))
        tree.check_same_shapes(
            f"{name}.update", ("updates", updates), ("params", params)
        )
        return jax.tree.map(leaf, updates, params), state

    return GradientTransformation(init_fn, update_fn)


class ZeroNansState(NamedTuple):
    """State of ``zero_nans``."""

    # One boolean scalar per leaf, shaped like the params tree: whether the
    # last update of that leaf contained a NaN.
    found_nan: Any


def zero_nans() -> GradientTransformation:
    """Replace NaN elements of the updates with zeros.

    The state records, per leaf, whether the last update had a NaN, so that
    a training loop can report it. ``inf`` elements are left alone; combine
    with ``clip`` or ``clip_by_global_norm`` to bound them. A complex element
    counts as NaN when its real or imaginary part is.

    Returns:
        A ``GradientTransformation`` with a ``ZeroNansState``.
    """
    name = "zero_nans"

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return ZeroNansState(
            found_nan=jax.tree.map(lambda _: jnp.zeros([], jnp.bool_), params)
        )

    def leaf(g):
        nan = jnp.isnan(g)
        return jnp.where(nan, jnp.zeros_like(g), g), jnp.any(nan)

    def update_fn(updates, state, params=None):
        del state
        tree.check_same_shapes(
            f"{name}.update", ("updates", updates), ("params", params)
        )
        updates, found_nan = tree.map_unzip(leaf, 2, updates)
        return updates, ZeroNansState(found_nan=found_nan)

    return GradientTransformation(init_fn, update_fn)
