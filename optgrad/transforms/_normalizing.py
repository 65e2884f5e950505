"""Stateless normalizations: ``centralize`` and ``normalize_by_update_norm``."""

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import EmptyState, GradientTransformation
from optgrad.transforms._leaf import cast_to, compute_dtype_of


def centralize() -> GradientTransformation:
    """Subtract from each update its mean over all axes but the first.

    Leaves with fewer than two dimensions pass through unchanged. The mean
    is taken in at least float32 and the result is cast back to each
    update's dtype.

    Returns:
        A stateless ``GradientTransformation``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> tx = optgrad.centralize()
        >>> grads = jnp.array([[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]])
        >>> updates, _ = tx.update(grads, tx.init(grads))
        >>> updates.tolist()
        [[-2.0, -1.0, 3.0], [-1.0, -1.0, 2.0]]

    References:
        Yong, Huang, Hua and Zhang, "Gradient Centralization: A New
        Optimization Technique for Deep Neural Networks", 2020,
        https://arxiv.org/abs/2004.01461
    """

    def leaf(g):
        if g.ndim < 2:
            return g
        g_wide = tree.widen(g)
        mean = jnp.mean(g_wide, axis=tuple(range(1, g.ndim)), keepdims=True)
        return (g_wide - mean).astype(g.dtype)

    def init_fn(params):
        tree.check_float_params("centralize.init", params)
        return EmptyState()

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            "centralize.update", ("updates", updates), ("params", params)
        )
        return jax.tree.map(leaf, updates), state

    return GradientTransformation(init_fn, update_fn)


def normalize_by_update_norm(
    scale_factor: float = 1.0, eps: float = 1e-6
) -> GradientTransformation:
    """Divide the updates by their global 2-norm plus ``eps``.

    The result is ``scale_factor * u / (||u|| + eps)``. The norm is taken
    with ``optgrad.tree.norm``, so float16 updates of 300 and float32 updates
    of ``1e20`` are scaled to the right length rather than to zero. When the
    norm and ``eps`` are both 0 the updates (all zero) are returned as zeros,
    with a finite gradient.

    Args:
        scale_factor: The length of the normalized updates; a negative
            value flips their direction.
        eps: Added to the norm, >= 0.

    Returns:
        A stateless ``GradientTransformation``.
    """
    name = "normalize_by_update_norm"
    _validate.check_range(name, "scale_factor", scale_factor)
    _validate.check_non_negative(name, "eps", eps)

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return EmptyState()

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update", ("updates", updates), ("params", params)
        )
        norm = tree.norm(updates)

        def leaf(g):
            dtype = compute_dtype_of(g, norm)
            real = tree.real_dtype(dtype)
            norm_, eps_, factor = cast_to(real, norm, eps, scale_factor)
            total = norm_ + eps_
            # A zero total means every update is zero; divide by 1 instead.
            safe_total = jnp.where(total > 0, total, jnp.ones_like(total))
            divisor = (safe_total / factor).astype(dtype)
            return (g.astype(dtype) / divisor).astype(g.dtype)

        return jax.tree.map(leaf, updates), state

    return GradientTransformation(init_fn, update_fn)
