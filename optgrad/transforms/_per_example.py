"""Clipping per example and per unit: the building blocks of DP-SGD and AGC."""

import math
from typing import Any

import jax
import jax.numpy as jnp

from optgrad import _validate, tree


def _check_batch_axis(call: str, grads: Any) -> None:
    """Raise ``ValueError`` unless every leaf has the same leading batch axis."""
    flat, _ = jax.tree_util.tree_flatten_with_path(grads)
    if not flat:
        return
    first_shape = jnp.shape(flat[0][1])
    batch = first_shape[0] if first_shape else None
    bad = [
        (tree.leaf_path(path), jnp.shape(leaf))
        for path, leaf in flat
        if jnp.ndim(leaf) == 0 or jnp.shape(leaf)[0] != batch
    ]
    if not bad:
        return
    first_path = tree.leaf_path(flat[0][0])
    expected = (
        "a leading batch axis"
        if batch is None
        else f"a leading batch axis of size {batch} (the size at {first_path})"
    )
    listed = ", ".join(f"{path} has shape {shape}" for path, shape in bad[:8])
    raise ValueError(
        f"{call}: every leaf of grads needs {expected}, but {listed}. Pass the "
        "per-example gradients, for example from jax.vmap(jax.grad(loss))."
    )


def _float_dtype(dtype: Any) -> Any:
    """Return the compute dtype of ``dtype``, or float32 for integer dtypes."""
    if jnp.issubdtype(dtype, jnp.inexact):
        return tree.compute_dtype(dtype)
    return jnp.dtype(jnp.float32)


def _clip_and_sum(grads: Any, l2_norm_clip: Any) -> tuple[Any, jax.Array]:
    """Scale each example to a norm of at most ``l2_norm_clip`` and sum them."""
    grads = jax.tree.map(jnp.asarray, grads)
    wide = jax.tree.map(lambda g: g.astype(_float_dtype(g.dtype)), grads)
    norms = jax.vmap(tree.norm)(wide)
    clip = jnp.asarray(l2_norm_clip).astype(norms.dtype)
    # 0 / 0 and inf / inf give NaN: an example with a zero norm under a zero
    # bound, or an infinite one under no bound, is left as it is.
    multipliers = jnp.nan_to_num(jnp.minimum(clip / norms, 1), nan=1)
    num_clipped = jnp.sum(multipliers < 1, dtype=jnp.int32)

    def leaf(g, g_wide):
        dtype = tree.promote(multipliers.dtype, g_wide.dtype)
        total = jnp.tensordot(
            multipliers.astype(dtype),
            g_wide.astype(dtype),
            axes=1,
            precision=jax.lax.Precision.HIGHEST,
        )
        return total.astype(g.dtype) if jnp.issubdtype(g.dtype, jnp.inexact) else total

    return jax.tree.map(leaf, grads, wide), num_clipped


def per_example_global_norm_clip(
    grads: Any, l2_norm_clip: float
) -> tuple[Any, jax.Array]:
    """Clip each example's gradient to a global 2-norm bound, then sum over examples.

    Every leaf of ``grads`` has the examples along axis 0. Example ``i`` is
    scaled by ``min(1, l2_norm_clip / |g_i|)``, where ``|g_i|`` is the norm
    of all its leaves together, as in DP-SGD.

    Args:
        grads: Per-example gradients, each leaf with a leading batch axis of
            the same size.
        l2_norm_clip: The bound, >= 0. With ``inf`` nothing is clipped.

    Returns:
        The sum of the clipped gradients (each leaf without the batch axis;
        integer leaves give float32) and the int32 number of clipped
        examples.

    Raises:
        ValueError: When a leaf lacks the batch axis or has another batch
            size. The message names the leaf paths and shapes.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> grads = [jnp.array([[0.0, 0.0], [3.0, 4.0]])]
        >>> summed, num_clipped = optgrad.per_example_global_norm_clip(grads, 1.0)
        >>> summed[0].tolist(), int(num_clipped)
        ([0.6000000238418579, 0.800000011920929], 1)

    References:
        Abadi et al., "Deep Learning with Differential Privacy", 2016,
        https://arxiv.org/abs/1607.00133
    """
    _validate.check_non_negative(
        "per_example_global_norm_clip", "l2_norm_clip", l2_norm_clip
    )
    _check_batch_axis("per_example_global_norm_clip", grads)
    if not jax.tree.leaves(grads):
        return grads, jnp.zeros([], jnp.int32)
    return _clip_and_sum(grads, l2_norm_clip)


def per_example_layer_norm_clip(
    grads: Any, global_l2_norm_clip: float, uniform: bool = True
) -> tuple[Any, Any]:
    """Clip each example's gradient leaf by leaf, then sum over examples.

    Each of the ``L`` leaves gets its own bound: ``C / sqrt(L)`` when
    ``uniform``, else ``C * sqrt(D_i / D)`` for a leaf with ``D_i`` of the
    ``D`` elements per example. Either way the clipped gradient of an
    example has a global norm of at most ``C``. With one leaf this is
    ``per_example_global_norm_clip``.

    Args:
        grads: Per-example gradients, each leaf with a leading batch axis of
            the same size.
        global_l2_norm_clip: ``C``, >= 0.
        uniform: Give every leaf the same bound.

    Returns:
        Two pytrees with the structure of ``grads``: the sums of the clipped
        gradients, and the int32 number of examples clipped in each leaf.

    Raises:
        ValueError: When a leaf lacks the batch axis or has another batch
            size.

    References:
        McMahan, Ramage, Talwar and Zhang, "Learning Differentially Private
        Recurrent Language Models", 2017, https://arxiv.org/abs/1710.06963
    """
    _validate.check_non_negative(
        "per_example_layer_norm_clip", "global_l2_norm_clip", global_l2_norm_clip
    )
    _check_batch_axis("per_example_layer_norm_clip", grads)
    leaves, treedef = jax.tree.flatten(grads)
    sizes = [math.prod(jnp.shape(leaf)[1:]) for leaf in leaves]
    total = sum(sizes)
    sums, counts = [], []
    for leaf, size in zip(leaves, sizes, strict=True):
        # The fraction of the squared bound that this leaf gets.
        if uniform:
            share = 1.0 / len(leaves)
        elif total:
            share = size / total
        else:
            share = 0.0
        clipped, count = _clip_and_sum(leaf, global_l2_norm_clip * share**0.5)
        sums.append(clipped)
        counts.append(count)
    return treedef.unflatten(sums), treedef.unflatten(counts)


def unitwise_norm(
    x: jax.typing.ArrayLike, axis: int | tuple[int, ...] | None = None
) -> jax.Array:
    """Return the 2-norm of each unit of ``x``, broadcast back to its shape.

    A unit is what one output neuron owns. Without ``axis`` the units
    follow from the rank. Scalars and vectors (and arrays with at most one
    axis longer than 1) are one unit. Rank-2 and rank-3 arrays (dense
    kernels, multi-head projections) reduce axis 0. Rank 4 (HWIO
    convolutions) reduces axes 0 to 2, and rank 5 (3-D convolutions) axes
    0 to 3.

    Args:
        x: An array.
        axis: The axes to reduce, for layouts other than the ones above.

    Returns:
        An array with the shape of ``x`` in its real compute dtype (float32
        for 16-bit and complex64 input).

    Raises:
        ValueError: For rank 6 or more without ``axis``.
    """
    x = jnp.asarray(x)
    if axis is None:
        if jnp.squeeze(x).ndim <= 1:
            axis = tuple(range(x.ndim))
        elif x.ndim in (2, 3):
            axis = 0
        elif x.ndim in (4, 5):
            axis = tuple(range(x.ndim - 1))
        else:
            raise ValueError(
                f"unitwise_norm has no default units for an array of shape "
                f"{x.shape}. Pass axis=... with the axes that make up one unit."
            )
    squares = tree.abs_sq(tree.widen(x))
    norms = tree.safe_sqrt(jnp.sum(squares, axis=axis, keepdims=True))
    return jnp.broadcast_to(norms, x.shape)


def unitwise_clip(
    g_norm: jax.typing.ArrayLike,
    max_norm: jax.typing.ArrayLike,
    grad: jax.typing.ArrayLike,
    div_eps: float = 1e-6,
) -> jax.Array:
    """Scale each unit of ``grad`` whose norm reaches ``max_norm`` down to it.

    Used by adaptive gradient clipping, where ``max_norm`` is a multiple of
    the param's unitwise norm.

    Args:
        g_norm: ``unitwise_norm(grad)``.
        max_norm: The bound of each unit, with the shape of ``g_norm``.
        grad: The gradient, with the shape of ``g_norm``.
        div_eps: The smallest divisor, which keeps a zero norm from
            dividing by zero.

    Returns:
        The clipped gradient, in the dtype of ``grad``.

    Raises:
        ValueError: When the three shapes differ.
    """
    g_norm, max_norm, grad = (jnp.asarray(v) for v in (g_norm, max_norm, grad))
    if not g_norm.shape == max_norm.shape == grad.shape:
        raise ValueError(
            "unitwise_clip needs g_norm, max_norm and grad of one shape, got "
            f"{g_norm.shape}, {max_norm.shape} and {grad.shape}. Compute g_norm "
            "with unitwise_norm(grad)."
        )
    dtype = _float_dtype(tree.promote(g_norm.dtype, max_norm.dtype, grad.dtype))
    real = tree.real_dtype(dtype)
    g_norm_wide = jnp.real(g_norm).astype(real)
    max_norm_wide = jnp.real(max_norm).astype(real)
    grad_wide = grad.astype(dtype)
    divisor = jnp.maximum(g_norm_wide, jnp.asarray(div_eps).astype(real))
    clipped = grad_wide * (max_norm_wide / divisor).astype(dtype)
    return jnp.where(g_norm_wide < max_norm_wide, grad_wide, clipped).astype(grad.dtype)
