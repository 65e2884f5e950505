"""Clipping updates by value, by global norm, by block RMS and unit-wise."""

from typing import Any

import jax
import jax.numpy as jnp

from optgrad import _messages, _validate, tree
from optgrad._base import EmptyState, GradientTransformation
from optgrad.transforms._leaf_math import block_rms, cast_to, compute_dtype_of
from optgrad.tree import leaf_path

ClipState = EmptyState
ClipByGlobalNormState = EmptyState
AdaptiveGradClipState = EmptyState


def _stateless_init(call: str):
    def init_fn(params):
        tree.check_float_params(f"{call}.init", params)
        return EmptyState()

    return init_fn


def clip(max_delta: float) -> GradientTransformation:
    """Clip every element of the updates to ``[-max_delta, max_delta]``.

    Args:
        max_delta: The largest magnitude an element keeps, >= 0.

    Returns:
        A stateless ``GradientTransformation``.

    Raises:
        TypeError: From ``update``, for complex updates, which have no order
            to clip in; use ``clip_by_global_norm`` or ``clip_by_block_rms``.
    """
    _validate.check_non_negative("clip", "max_delta", max_delta)

    def update_fn(updates, state, params=None):
        tree.check_same_shapes("clip.update", ("updates", updates), ("params", params))
        flat, _ = jax.tree_util.tree_flatten_with_path(updates)
        complex_paths = [leaf_path(p) for p, g in flat if jnp.iscomplexobj(g)]
        if complex_paths:
            raise TypeError(
                "clip.update: complex updates have no order to clip in, at "
                f"{', '.join(complex_paths[:8])}. Use clip_by_global_norm or "
                "clip_by_block_rms, which scale by a norm."
            )

        def leaf(g):
            g_wide = tree.widen(g)
            (bound,) = cast_to(g_wide.dtype, max_delta)
            return jnp.clip(g_wide, -bound, bound).astype(g.dtype)

        return jax.tree.map(leaf, updates), state

    return GradientTransformation(_stateless_init("clip"), update_fn)


def _scale_down(g: jax.Array, length: jax.Array, limit: Any) -> jax.Array:
    """Return ``g / length * limit`` where ``length > limit``, else ``g``.

    Computed in at least float32. Where ``g`` is not scaled the divisor is
    replaced by 1, so neither the value nor the gradient is NaN at
    ``length == 0``.
    """
    dtype = compute_dtype_of(g, length)
    real = tree.real_dtype(dtype)
    length_, limit_ = cast_to(real, length, limit)
    clipped = length_ > limit_
    safe_length = jnp.where(clipped, length_, jnp.ones_like(length_))
    g_wide = g.astype(dtype)
    scaled = g_wide / safe_length.astype(dtype) * limit_.astype(dtype)
    return jnp.where(clipped, scaled, g_wide).astype(g.dtype)


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Scale the updates down so that their global 2-norm is at most ``max_norm``.

    Updates whose norm is at most ``max_norm`` pass through unchanged.

    Args:
        max_norm: The largest global norm, >= 0.

    Returns:
        A stateless ``GradientTransformation``.

    Notes:
        The norm is ``optgrad.tree.norm``: summed in at least float32 and
        rescaled when the sum overflows or underflows. So float16 gradients
        of 300 and float32 gradients of ``1e20`` keep their direction and get
        length ``max_norm`` (optax 0.2.8 returns zeros there). A ``max_norm``
        of 0 with all-zero gradients returns zeros and differentiating
        through the clip at zero gradients is finite (optax 0.2.8: NaN for
        both).

    References:
        Pascanu, Mikolov and Bengio, "On the difficulty of training
        recurrent neural networks", 2013, https://arxiv.org/abs/1211.5063
    """
    name = "clip_by_global_norm"
    _validate.check_non_negative(name, "max_norm", max_norm)

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update", ("updates", updates), ("params", params)
        )
        norm = tree.norm(updates)
        return jax.tree.map(lambda g: _scale_down(g, norm, max_norm), updates), state

    return GradientTransformation(_stateless_init(name), update_fn)


def clip_by_block_rms(threshold: float) -> GradientTransformation:
    """Scale down each update leaf whose root mean square exceeds ``threshold``.

    A block is one leaf of the tree, such as the kernel of a dense layer.
    Leaves whose RMS is at most ``threshold`` pass through unchanged. The RMS
    rounds as ``sqrt(mean(g**2))`` does in the ordinary range and is
    rescaled like ``optgrad.tree.norm`` where the squares overflow or
    underflow, so it is right for float16 gradients of 300 or float32
    gradients of ``1e20``, and it is finite to differentiate at zero.

    Args:
        threshold: The largest RMS of a leaf, >= 0.

    Returns:
        A stateless ``GradientTransformation``.
    """
    name = "clip_by_block_rms"
    _validate.check_non_negative(name, "threshold", threshold)

    def leaf(g):
        if g.size == 0:
            return g
        rms = block_rms(g)
        # Divides by ``rms / threshold`` as optax 0.2.8 does, which rounds
        # closer to its results than multiplying by ``threshold / rms``.
        dtype = compute_dtype_of(g, rms)
        rms_, limit = cast_to(tree.real_dtype(dtype), rms, threshold)
        clipped = rms_ > limit
        positive = limit > 0
        ratio = rms_ / jnp.where(clipped & positive, limit, jnp.ones_like(limit))
        divisor = jnp.where(clipped, ratio, jnp.ones_like(ratio))
        out = g.astype(dtype) / divisor.astype(dtype)
        # A threshold of 0 clips every nonzero leaf to zero.
        out = jnp.where(clipped & ~positive, jnp.zeros_like(out), out)
        return out.astype(g.dtype)

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update", ("updates", updates), ("params", params)
        )
        return jax.tree.map(leaf, updates), state

    return GradientTransformation(_stateless_init(name), update_fn)


def _unit_axes(x: jax.Array, axis: int | tuple[int, ...] | None, where: str):
    """Return the axes that ``unitwise_norm`` reduces for an array like ``x``."""
    if axis is not None:
        return axis
    if jnp.squeeze(x).ndim <= 1:
        return tuple(range(x.ndim))
    if x.ndim in (2, 3):
        return (0,)
    if x.ndim == 4:
        return (0, 1, 2)
    if x.ndim == 5:
        return (0, 1, 2, 3)
    raise ValueError(
        f"{where} has shape {x.shape}, and unit-wise norms are defined only for "
        "up to 5 dimensions by default. Pass axis=... to name the axes to "
        "reduce."
    )


def _unit_norms(x: jax.Array, axes: int | tuple[int, ...]) -> jax.Array:
    # Each unit is divided by its largest magnitude before squaring, so that
    # the sum of squares neither overflows nor underflows. The divisor does
    # not change the norm, so it is kept out of the gradient.
    x = tree.widen(x)
    largest = jnp.max(jnp.abs(x), axis=axes, keepdims=True, initial=0)
    usable = (largest > 0) & jnp.isfinite(largest)
    divisor = jax.lax.stop_gradient(jnp.where(usable, largest, jnp.ones_like(largest)))
    scaled = x / divisor.astype(x.dtype)
    sum_sq = jnp.sum(tree.abs_sq(scaled), axis=axes, keepdims=True)
    return divisor * tree.safe_sqrt(sum_sq)


def unitwise_norm(
    x: jax.typing.ArrayLike, axis: int | tuple[int, ...] | None = None
) -> jax.Array:
    """Return the 2-norm of each unit of ``x``, broadcast to the shape of ``x``.

    A unit is the slice of ``x`` over ``axis``. By default, the axes follow
    common layer layouts: all axes for scalars and vectors, axis 0 for
    dense (``(in, out)``) and multi-head (``(in, heads, out)``) kernels,
    axes ``(0, 1, 2)`` for 2-D convolution kernels (HWIO) and ``(0, 1, 2, 3)``
    for 3-D ones (DHWIO). The norm is computed in at least float32, without
    overflow or underflow of the squares, with a zero gradient at zero.

    Args:
        x: An array.
        axis: The axes to reduce; ``None`` picks them from the rank as above.

    Returns:
        A real array with the shape of ``x``, in at least float32.

    Raises:
        ValueError: For ``axis=None`` and more than 5 dimensions.
    """
    x = jnp.asarray(x)
    axes = _unit_axes(x, axis, "unitwise_norm: x")
    return jnp.broadcast_to(_unit_norms(x, axes), x.shape)


def unitwise_clip(
    g_norm: jax.typing.ArrayLike,
    max_norm: jax.typing.ArrayLike,
    grad: jax.typing.ArrayLike,
    div_eps: float = 1e-6,
) -> jax.Array:
    """Scale ``grad`` by ``max_norm / g_norm`` where ``g_norm >= max_norm``.

    Args:
        g_norm: Unit-wise norms of ``grad``, with its shape.
        max_norm: The largest allowed unit-wise norms, with its shape.
        grad: The update to clip.
        div_eps: The smallest divisor, which keeps ``g_norm == 0`` finite.

    Returns:
        ``grad`` where ``g_norm < max_norm``, else the scaled ``grad``, in the
        dtype of ``grad``.

    Raises:
        ValueError: If the three shapes differ.
    """
    g_norm, max_norm, grad = (jnp.asarray(a) for a in (g_norm, max_norm, grad))
    if not g_norm.shape == max_norm.shape == grad.shape:
        raise ValueError(
            "unitwise_clip: g_norm, max_norm and grad must have one shape, got "
            f"{g_norm.shape}, {max_norm.shape} and {grad.shape}."
        )
    dtype = compute_dtype_of(grad, g_norm, max_norm)
    real = tree.real_dtype(dtype)
    g_norm_, max_norm_, div_eps_ = cast_to(real, g_norm, max_norm, div_eps)
    factor = max_norm_ / jnp.maximum(g_norm_, div_eps_)
    grad_wide = grad.astype(dtype)
    clipped = grad_wide * factor.astype(dtype)
    return jnp.where(g_norm_ < max_norm_, grad_wide, clipped).astype(grad.dtype)


def adaptive_grad_clip(
    clipping: float,
    eps: float = 1e-3,
    axis: int | tuple[int, ...] | None = None,
) -> GradientTransformation:
    """Clip each unit of the updates to ``clipping`` times the unit's param norm.

    For each unit (see ``unitwise_norm``) with update norm ``|g|`` and param
    norm ``|p|``, the update is scaled by ``clipping * max(|p|, eps) / |g|``
    where ``|g|`` exceeds ``clipping * max(|p|, eps)``. Both norms are safe
    at both ends of the float range.

    Args:
        clipping: The largest ratio of update norm to param norm, >= 0.
        eps: The smallest param norm, so that zero-initialized params still
            move, >= 0.
        axis: The axes of a unit; ``None`` picks them from each leaf's rank.

    Returns:
        A stateless ``GradientTransformation``; its ``update`` needs the
        params.

    Raises:
        ValueError: From ``update``, for a leaf of more than 5 dimensions
            with ``axis=None``, naming the leaf.

    References:
        Brock, De, Smith and Simonyan, "High-Performance Large-Scale Image
        Recognition Without Normalization", 2021,
        https://arxiv.org/abs/2102.06171
    """
    name = "adaptive_grad_clip"
    _validate.check_non_negative(name, "clipping", clipping)
    _validate.check_non_negative(name, "eps", eps)

    def leaf(path, g, p):
        axes = _unit_axes(g, axis, f"{name}.update: the update at {leaf_path(path)}")
        g_norm = jnp.broadcast_to(_unit_norms(g, axes), g.shape)
        p_norm = jnp.broadcast_to(_unit_norms(p, axes), g.shape)
        limit_clip, limit_eps = cast_to(p_norm.dtype, clipping, eps)
        max_norm = limit_clip * jnp.maximum(p_norm, limit_eps)
        return unitwise_clip(g_norm, max_norm, g)

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError(_messages.missing_params(name))
        tree.check_same_shapes(
            f"{name}.update", ("updates", updates), ("params", params)
        )
        return jax.tree_util.tree_map_with_path(leaf, updates, params), state

    return GradientTransformation(_stateless_init(name), update_fn)
