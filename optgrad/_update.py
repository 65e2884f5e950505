"""Applying updates to params."""

from typing import Any

import jax
import jax.numpy as jnp

from optgrad._typing import Params, Updates
from optgrad.tree import _checks
from optgrad.tree._dtypes import compute_dtype, leaf_dtype, promote


def apply_updates(params: Params, updates: Updates) -> Params:
    """Add the updates to the params, keeping each param's dtype.

    The sum is computed in the promoted dtype of the pair and cast back, so
    float32 updates applied to bfloat16 params return bfloat16 params. Leaves
    that are ``None`` in the params stay ``None``.

    Args:
        params: A pytree of arrays.
        updates: A pytree with the structure and leaf shapes of ``params``.

    Returns:
        The updated params, with the structure, shapes and dtypes of
        ``params``.

    Raises:
        ValueError: If the two trees differ in structure or leaf shape; the
            message names the first differing leaf path.
    """
    _checks.check_same_shapes(
        "apply_updates", ("params", params), ("updates", updates), float_reference=False
    )
    return jax.tree.map(_add_leaf, params, updates, is_leaf=lambda x: x is None)


def incremental_update(
    new_tensors: Params, old_tensors: Params, step_size: jax.typing.ArrayLike
) -> Params:
    """Return the moving average ``step_size * new + (1 - step_size) * old``.

    Used for Polyak averaging of params, for instance a target network in
    reinforcement learning or an evaluation copy of a model.

    Args:
        new_tensors: The latest values.
        old_tensors: The running average, with the structure of
            ``new_tensors``.
        step_size: The weight of the new values, in [0, 1].

    Returns:
        The new running average, in the dtype of ``old_tensors``.
    """
    _checks.check_same_shapes(
        "incremental_update",
        ("new_tensors", new_tensors),
        ("old_tensors", old_tensors),
        float_reference=False,
    )

    def mix(new, old):
        if new is None:
            return None
        dtype = compute_dtype(leaf_dtype(old))
        size = jnp.asarray(step_size, dtype)
        mixed = size * jnp.asarray(new, dtype) + (1 - size) * jnp.asarray(old, dtype)
        return mixed.astype(leaf_dtype(old))

    return jax.tree.map(mix, new_tensors, old_tensors, is_leaf=lambda x: x is None)


def periodic_update(
    new_tensors: Params,
    old_tensors: Params,
    steps: jax.typing.ArrayLike,
    update_period: int,
) -> Params:
    """Return ``new_tensors`` every ``update_period`` steps, else ``old_tensors``.

    Args:
        new_tensors: The latest values.
        old_tensors: The values kept between refreshes.
        steps: The current step, a (possibly traced) integer.
        update_period: Refresh when ``steps % update_period == 0``.

    Returns:
        One of the two trees, chosen with ``jnp.where`` so it traces.
    """
    if update_period < 1:
        raise ValueError(
            f"periodic_update(update_period=...) must be a positive integer, "
            f"got {update_period!r}."
        )
    refresh = jnp.asarray(steps) % update_period == 0
    return jax.tree.map(
        lambda new, old: None if new is None else jnp.where(refresh, new, old),
        new_tensors,
        old_tensors,
        is_leaf=lambda x: x is None,
    )


def _add_leaf(param: Any, update: Any) -> Any:
    if param is None:
        return None
    param = jnp.asarray(param)
    update = jnp.asarray(update)
    dtype = promote(param.dtype, update.dtype)
    return (param.astype(dtype) + update.astype(dtype)).astype(param.dtype)
