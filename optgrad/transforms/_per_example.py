"""Clipping per example: the building blocks of DP-SGD."""

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
