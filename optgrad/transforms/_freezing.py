"""Keeping part of the params fixed: ``freeze`` and ``selective_transform``."""

from typing import Any

import jax

from optgrad._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    set_to_zero,
)
from optgrad.transforms._combining import partition
from optgrad.transforms._masking import masked, resolve_mask
from optgrad.transforms._wrapping import check_transformation


def freeze(mask: bool | Any) -> GradientTransformationExtraArgs:
    """Set the updates to zero where ``mask`` is ``True`` and pass the rest through.

    Applying the result leaves the frozen params unchanged. Chain it after an
    optimizer, or use ``selective_transform`` so that the optimizer keeps no
    state for the frozen leaves.

    Args:
        mask: Which leaves to freeze. ``True`` freezes every leaf and
            ``False`` none. A pytree of booleans with the structure of the
            params (or a prefix of it) freezes the leaves where it is
            ``True``, and a function of the params may return such a tree.
            The booleans must be Python values or concrete arrays, not
            traced ones.

    Returns:
        A stateless ``GradientTransformationExtraArgs``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> params = {"a": jnp.ones(1), "b": jnp.ones(2)}
        >>> tx = optgrad.freeze({"a": True, "b": False})
        >>> updates, _ = tx.update(params, tx.init(params))
        >>> updates["a"].tolist(), updates["b"].tolist()
        ([0.0], [1.0, 1.0])
    """
    return masked(set_to_zero(), mask)


def selective_transform(
    optimizer: GradientTransformation,
    *,
    freeze_mask: bool | Any,
) -> GradientTransformationExtraArgs:
    """Run ``optimizer`` on the trainable leaves and zero the frozen ones.

    The optimizer keeps no state for the frozen leaves, which saves memory
    when a large part of a model is frozen.

    Args:
        optimizer: The optimizer for the leaves where ``freeze_mask`` is
            ``False``.
        freeze_mask: Which leaves to freeze, as ``mask`` in ``freeze``: a
            boolean, a pytree of booleans, or a function of the params that
            returns one.

    Returns:
        ``partition({"train": optimizer, "freeze": set_to_zero()}, labels)``,
        with a ``PartitionState``.

    Notes:
        optax 0.2.8 treats a function ``freeze_mask`` as one ``True`` leaf
        and freezes every param. Here the function is called on the params.
    """
    check_transformation("selective_transform", "optimizer", optimizer)

    def label_fn(params):
        mask_tree = resolve_mask(freeze_mask, params)
        return jax.tree.map(lambda frozen: "freeze" if frozen else "train", mask_tree)

    return partition({"train": optimizer, "freeze": set_to_zero()}, label_fn)
