"""Applying a transformation to part of the params: ``masked``."""

from typing import Any, NamedTuple

import jax

from optgrad._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)
from optgrad._typing import MaskOrFn, OptState


class MaskedNode(NamedTuple):
    """Placeholder for a masked-out subtree; it has no leaves.

    The inner transformation of ``masked`` sees this node where the mask is
    ``False``, so it keeps no state for that part of the params.
    """


class MaskedState(NamedTuple):
    """State of ``masked``."""

    inner_state: OptState  # The inner transformation's state.


def is_mask_fn(mask: Any) -> bool:
    """Return whether ``mask`` is a function of the params, not a mask tree.

    A plain function is a single pytree leaf. A callable pytree with leaves
    of its own, such as an Equinox module of booleans, is a mask tree.
    """
    if isinstance(mask, jax.tree_util.Partial):
        return True
    if not callable(mask):
        return False
    leaves = jax.tree.leaves(mask)
    return len(leaves) == 1 and leaves[0] is mask


def resolve_mask(mask: MaskOrFn, params: Any) -> Any:
    """Return the mask tree: ``mask(params)`` for a function, else ``mask``."""
    return mask(params) if is_mask_fn(mask) else mask


def _mask_tree(tree: Any, mask_tree: Any, call: str) -> Any:
    """Replace the subtrees of ``tree`` where the mask is ``False`` by MaskedNode."""
    try:
        return jax.tree.map(
            lambda keep, subtree: subtree if keep else MaskedNode(), mask_tree, tree
        )
    except ValueError as error:
        raise ValueError(
            f"{call}: the mask must have the structure of the params, or be a "
            f"prefix of it.\n  mask: {jax.tree.structure(mask_tree)}\n"
            f"  params: {jax.tree.structure(tree)}"
        ) from error


def masked(
    inner: GradientTransformation,
    mask: MaskOrFn,
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformationExtraArgs:
    """Apply ``inner`` only where ``mask`` is ``True``; pass the rest through.

    The inner transformation sees a tree in which the masked-out parts are
    replaced by ``MaskedNode()``, so it keeps no state for them. Updates where
    the mask is ``False`` are returned unchanged.

    Args:
        inner: The transformation to apply to the selected leaves.
        mask: A pytree of booleans with the structure of the params (or a
            prefix of it, where one boolean covers a whole subtree), or a
            function of the params that returns one. A callable pytree, such
            as an Equinox module of booleans, counts as a tree, not a
            function.
        mask_compatible_extra_args: Also mask the extra keyword arguments of
            ``update`` whose structure matches the mask.

    Returns:
        A ``GradientTransformationExtraArgs`` with a ``MaskedState``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> params = {"w": jnp.ones(2), "b": jnp.ones(2)}
        >>> tx = optgrad.masked(optgrad.scale(0.0), {"w": True, "b": False})
        >>> updates, _ = tx.update(params, tx.init(params), params)
        >>> updates["w"].tolist(), updates["b"].tolist()
        ([0.0, 0.0], [1.0, 1.0])
    """
    if not isinstance(inner, GradientTransformation):
        raise TypeError(
            f"masked(inner=...) must be a gradient transformation, got "
            f"{type(inner).__name__}."
        )
    inner = with_extra_args_support(inner)

    def mask_extra_args(extra_args, mask_tree):
        if not mask_compatible_extra_args:
            return extra_args
        mask_def = jax.tree.structure(mask_tree)
        masked_args = {}
        for key, value in extra_args.items():
            if jax.tree.structure(value) == mask_def:
                value = _mask_tree(value, mask_tree, "masked.update")
            masked_args[key] = value
        return masked_args

    def init_fn(params):
        mask_tree = resolve_mask(mask, params)
        return MaskedState(inner.init(_mask_tree(params, mask_tree, "masked.init")))

    def update_fn(updates, state, params=None, **extra_args):
        mask_tree = resolve_mask(mask, updates if params is None else params)
        masked_updates = _mask_tree(updates, mask_tree, "masked.update")
        masked_params = (
            None if params is None else _mask_tree(params, mask_tree, "masked.update")
        )
        extra_args = mask_extra_args(extra_args, mask_tree)
        new_masked, inner_state = inner.update(
            masked_updates, state.inner_state, masked_params, **extra_args
        )
        new_updates = jax.tree.map(
            lambda keep, new, old: new if keep else old,
            mask_tree,
            new_masked,
            updates,
            is_leaf=lambda x: isinstance(x, MaskedNode),
        )
        return new_updates, MaskedState(inner_state)

    return GradientTransformationExtraArgs(init_fn, update_fn)


def leaf_flags(mask_tree: Any, params: Any, call: str) -> Any:
    """Return, for each leaf of ``params``, the boolean of ``mask_tree`` over it.

    ``mask_tree`` has the structure of ``params`` or is a prefix of it, where
    one boolean covers a whole subtree. The result has the structure of
    ``params``.
    """
    try:
        return jax.tree.map(
            lambda keep, subtree: jax.tree.map(lambda _: bool(keep), subtree),
            mask_tree,
            params,
        )
    except ValueError as error:
        raise ValueError(
            f"{call}: the mask must have the structure of the params, or be a "
            f"prefix of it.\n  mask: {jax.tree.structure(mask_tree)}\n"
            f"  params: {jax.tree.structure(params)}"
        ) from error
