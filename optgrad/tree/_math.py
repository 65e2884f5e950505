"""Pytree arithmetic shared by the transforms.

Functions that combine several trees expect them to share a structure; the
first tree decides where ``None`` leaves and empty subtrees are, and those
pass through untouched.
"""

import builtins
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from optgrad.tree._dtypes import (
    compute_dtype,
    leaf_dtype,
    moment_dtype,
    promote,
    real_dtype,
)


def add(tree_x: Any, tree_y: Any, *other_trees: Any) -> Any:
    """Return the leafwise sum of two or more trees."""
    return jax.tree.map(
        lambda *xs: functools.reduce(jnp.add, xs), tree_x, tree_y, *other_trees
    )


def sub(tree_x: Any, tree_y: Any) -> Any:
    """Return the leafwise difference ``tree_x - tree_y``."""
    return jax.tree.map(jnp.subtract, tree_x, tree_y)


def mul(tree_x: Any, tree_y: Any) -> Any:
    """Return the leafwise product."""
    return jax.tree.map(jnp.multiply, tree_x, tree_y)


def div(tree_x: Any, tree_y: Any) -> Any:
    """Return the leafwise quotient ``tree_x / tree_y``."""
    return jax.tree.map(jnp.divide, tree_x, tree_y)


def scale(scalar: jax.typing.ArrayLike, tree: Any) -> Any:
    """Multiply every leaf by ``scalar``, keeping each leaf's dtype."""
    return jax.tree.map(lambda x: _times(scalar, x), tree)


def add_scale(tree_x: Any, scalar: jax.typing.ArrayLike, tree_y: Any) -> Any:
    """Return ``tree_x + scalar * tree_y``, keeping the dtypes of ``tree_x``."""
    return jax.tree.map(
        lambda x, y: x + _times(scalar, y).astype(leaf_dtype(x)), tree_x, tree_y
    )


def _times(scalar: jax.typing.ArrayLike, x: Any) -> jax.Array:
    x = jnp.asarray(x)
    return (
        jnp.asarray(scalar, compute_dtype(x.dtype)) * x.astype(compute_dtype(x.dtype))
    ).astype(x.dtype)


def vdot(tree_x: Any, tree_y: Any) -> jax.Array:
    """Return the inner product ``sum(conj(x) * y)`` over all leaves.

    Each leaf's product is summed in at least float32. The sum is taken
    over the leaf's own shape, not a flattened copy, so sharded leaves are
    reduced in place rather than gathered.
    """
    flat_x = jax.tree.leaves(tree_x)
    flat_y = jax.tree.structure(tree_x).flatten_up_to(tree_y)
    parts = []
    for x, y in zip(flat_x, flat_y, strict=True):
        dtype = compute_dtype(promote(leaf_dtype(x), leaf_dtype(y)))
        x = jnp.asarray(x).astype(dtype)
        y = jnp.asarray(y).astype(dtype)
        parts.append(jnp.sum(jnp.conj(x) * y))
    return _total(parts, jnp.float32)


def sum(tree: Any) -> jax.Array:
    """Return the sum of every element of every leaf."""
    return _total([jnp.sum(jnp.asarray(x)) for x in jax.tree.leaves(tree)], jnp.float32)


def max(tree: Any) -> jax.Array:
    """Return the largest element over all leaves (``-inf`` for no elements)."""
    parts = [jnp.max(jnp.asarray(x), initial=-jnp.inf) for x in jax.tree.leaves(tree)]
    if not parts:
        return jnp.asarray(-jnp.inf, jnp.float32)
    dtype = promote(*parts)
    return functools.reduce(jnp.maximum, [p.astype(dtype) for p in parts])


def min(tree: Any) -> jax.Array:
    """Return the smallest element over all leaves (``inf`` for no elements)."""
    parts = [jnp.min(jnp.asarray(x), initial=jnp.inf) for x in jax.tree.leaves(tree)]
    if not parts:
        return jnp.asarray(jnp.inf, jnp.float32)
    dtype = promote(*parts)
    return functools.reduce(jnp.minimum, [p.astype(dtype) for p in parts])


def size(tree: Any) -> int:
    """Return the number of elements over all leaves."""
    return builtins.sum(jnp.size(x) for x in jax.tree.leaves(tree))


def conj(tree: Any) -> Any:
    """Return the complex conjugate of every leaf."""
    return jax.tree.map(jnp.conj, tree)


def real(tree: Any) -> Any:
    """Return the real part of every leaf."""
    return jax.tree.map(jnp.real, tree)


def _total(parts: list[jax.Array], empty_dtype: Any) -> jax.Array:
    """Add scalars of possibly different dtypes in their promoted dtype."""
    if not parts:
        return jnp.zeros((), empty_dtype)
    dtype = promote(*parts)
    return functools.reduce(jnp.add, [p.astype(dtype) for p in parts])


def abs_sq(x: jax.Array) -> jax.Array:
    """Return ``|x|**2`` as a real array, for real and complex ``x``."""
    if jnp.iscomplexobj(x):
        return jnp.real(x) ** 2 + jnp.imag(x) ** 2
    return x * x


def safe_sqrt(x: jax.Array) -> jax.Array:
    """Return ``sqrt(x)`` for ``x >= 0`` with a zero (not infinite) gradient at 0."""
    positive = x > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1)), 0)


def norm(tree: Any, ord: int | float | str = 2, squared: bool = False) -> jax.Array:
    """Return the norm of all leaves taken together as one vector.

    The 2-norm is safe at both ends of the float range: squares are summed in
    at least float32, and when that sum overflows or underflows it is
    recomputed on values divided by the largest magnitude. So float16
    gradients of 300 and float32 gradients of ``1e20`` get their true norm
    rather than ``inf``. The recomputation sits behind ``lax.cond`` and costs
    a second pass over the tree only when it runs. The gradient of the norm
    is finite at zero (zero there).

    Args:
        tree: A pytree of arrays.
        ord: ``2`` (default), ``1``, ``"inf"`` or ``jnp.inf``.
        squared: Return the squared 2-norm. Only for ``ord=2``.

    Returns:
        A real scalar in the widest compute dtype of the leaves.

    Raises:
        ValueError: For another ``ord``, or ``squared=True`` with ``ord != 2``.
    """
    leaves = [jnp.asarray(x) for x in jax.tree.leaves(tree)]
    if ord in (2, "2", "fro"):
        return _l2_norm(leaves, squared)
    if squared:
        raise ValueError(f"norm(squared=True) needs ord=2, got ord={ord!r}.")
    if ord in (1, "1"):
        return _total([jnp.sum(jnp.abs(_widen(x))) for x in leaves], jnp.float32)
    if ord in ("inf", jnp.inf):
        return _max_abs(leaves)
    raise ValueError(f"norm(ord=...) must be 1, 2 or 'inf', got {ord!r}.")


def _widen(x: jax.Array) -> jax.Array:
    return x.astype(compute_dtype(x.dtype))


def _max_abs(leaves: list[jax.Array]) -> jax.Array:
    parts = [jnp.max(jnp.abs(_widen(x)), initial=0) for x in leaves]
    if not parts:
        return jnp.zeros((), jnp.float32)
    dtype = promote(*parts)
    return functools.reduce(jnp.maximum, [p.astype(dtype) for p in parts])


def root_mean_square(x: jax.Array) -> jax.Array:
    """Return ``sqrt(mean(|x|**2))`` of one array, safe at both ends of its range.

    In the ordinary range this rounds as ``sqrt(sum / size)`` does, as optax
    0.2.8 computes it. Where the sum of squares overflows or underflows it
    is ``norm(x) / sqrt(size)`` with the rescaled norm. A zero-size array
    gives 0.
    """
    x = jnp.asarray(x)
    if x.size == 0:
        return jnp.zeros((), real_dtype(compute_dtype(x.dtype)))
    return _l2_norm([x], squared=False, size=x.size)


def _l2_norm(
    leaves: list[jax.Array], squared: bool, size: int | None = None
) -> jax.Array:
    """Return the 2-norm of the leaves, or their RMS over ``size`` elements."""
    if not leaves:
        return jnp.zeros((), jnp.float32)
    out_dtype = promote(*[real_dtype(compute_dtype(x.dtype)) for x in leaves])
    sum_sq = _total([jnp.sum(abs_sq(_widen(x))) for x in leaves], out_dtype)
    # Below sqrt(tiny), squares of the small elements may have been flushed to
    # zero; above the largest float the sum overflowed. Both need rescaling.
    threshold = jnp.sqrt(jnp.finfo(out_dtype).tiny)
    accurate = jnp.isfinite(sum_sq) & (sum_sq >= threshold)

    def plain(_):
        if size is not None:
            return safe_sqrt(sum_sq / jnp.asarray(size, out_dtype))
        return sum_sq if squared else safe_sqrt(sum_sq)

    def rescaled(_):
        largest = _max_abs(leaves).astype(out_dtype)
        usable = (largest > 0) & jnp.isfinite(largest)
        # The norm is homogeneous in the divisor, so its gradient through the
        # divisor is exactly zero; stopping it avoids ``x / divisor**2``
        # overflowing in the backward pass.
        divisor = jax.lax.stop_gradient(jnp.where(usable, largest, 1))
        scaled_sq = _total(
            [
                jnp.sum(abs_sq(_widen(x) / divisor.astype(_widen(x).dtype)))
                for x in leaves
            ],
            out_dtype,
        )
        # ``largest`` is inf or NaN exactly when the true norm is. At zero the
        # norm is 0 with a zero gradient, which keeps ``max``'s gradient out.
        fallback = jnp.where(largest == 0, jnp.zeros_like(largest), largest)
        value = jnp.where(usable, divisor * safe_sqrt(scaled_sq), fallback)
        if size is not None:
            return value / jnp.sqrt(jnp.asarray(size, out_dtype))
        return value * value if squared else value

    return jax.lax.cond(accurate, plain, rescaled, None)


def zeros_like(tree: Any, dtype: Any | None = None) -> Any:
    """Return a tree of zeros shaped like ``tree``; sharding is kept."""
    return jax.tree.map(lambda x: jnp.zeros_like(x, dtype=dtype), tree)


def ones_like(tree: Any, dtype: Any | None = None) -> Any:
    """Return a tree of ones shaped like ``tree``; sharding is kept."""
    return jax.tree.map(lambda x: jnp.ones_like(x, dtype=dtype), tree)


def full_like(
    tree: Any, fill_value: jax.typing.ArrayLike, dtype: Any | None = None
) -> Any:
    """Return a tree shaped like ``tree`` filled with ``fill_value``."""
    return jax.tree.map(lambda x: jnp.full_like(x, fill_value, dtype=dtype), tree)


def clip(
    tree: Any,
    min_value: jax.typing.ArrayLike | None = None,
    max_value: jax.typing.ArrayLike | None = None,
) -> Any:
    """Clip every leaf to ``[min_value, max_value]``; ``None`` leaves a side open."""
    return jax.tree.map(lambda x: jnp.clip(x, min_value, max_value), tree)


def where(condition: jax.typing.ArrayLike, tree_x: Any, tree_y: Any) -> Any:
    """Select leafwise: ``tree_x`` where ``condition`` holds, else ``tree_y``.

    ``condition`` broadcasts against every leaf; usually it is a scalar.
    """
    return jax.tree.map(lambda x, y: jnp.where(condition, x, y), tree_x, tree_y)


def cast(tree: Any, dtype: Any | None) -> Any:
    """Cast every leaf to ``dtype``; ``None`` returns the tree unchanged."""
    if dtype is None:
        return tree
    return jax.tree.map(lambda x: jnp.asarray(x).astype(dtype), tree)


def cast_like(tree: Any, other_tree: Any) -> Any:
    """Cast every leaf to the dtype of the matching leaf of ``other_tree``."""
    return jax.tree.map(
        lambda x, y: jnp.asarray(x).astype(leaf_dtype(y)), tree, other_tree
    )


def _in_compute_dtype(m: jax.Array, *values: Any) -> list[jax.Array]:
    dtype = compute_dtype(m.dtype)
    return [jnp.asarray(v).astype(dtype) for v in (m, *values)]


def update_moment(
    updates: Any, moments: Any, decay: jax.typing.ArrayLike, order: int
) -> Any:
    """Return the moving average ``(1 - decay) * g**order + decay * m``.

    Computed in at least float32 and stored in each moment's dtype.
    """

    def leaf(g, m):
        m_wide, g, d = _in_compute_dtype(m, g, decay)
        return (one_minus(decay, d.dtype) * g**order + d * m_wide).astype(m.dtype)

    return jax.tree.map(leaf, updates, moments)


def update_moment_per_elem_norm(
    updates: Any, moments: Any, decay: jax.typing.ArrayLike, order: int
) -> Any:
    """Return the moving average ``(1 - decay) * |g|**order + decay * m``.

    For complex ``g``, ``|g|`` is the modulus, so the moment holds real values.
    """

    def leaf(g, m):
        g = jnp.asarray(g)
        g = g.astype(compute_dtype(g.dtype))
        power = abs_sq(g) if order == 2 else jnp.abs(g) ** order
        m_wide, power, d = _in_compute_dtype(m, power, decay)
        return (one_minus(decay, d.dtype) * power + d * m_wide).astype(m.dtype)

    return jax.tree.map(leaf, updates, moments)


def update_infinity_moment(
    updates: Any, moments: Any, decay: jax.typing.ArrayLike, eps: jax.typing.ArrayLike
) -> Any:
    """Return the decayed running maximum ``max(|g| + eps, decay * m)``."""

    def leaf(g, m):
        m_wide, g, d, e = _in_compute_dtype(m, jnp.abs(jnp.asarray(g)), decay, eps)
        return jnp.maximum(g + e, d * m_wide).astype(m.dtype)

    return jax.tree.map(leaf, updates, moments)


def bias_correction(
    moment: Any, decay: jax.typing.ArrayLike, count: jax.typing.ArrayLike
) -> Any:
    """Divide every leaf by ``1 - decay**count``, the Adam bias correction."""
    decay = jnp.asarray(decay, jnp.float32)
    correction = 1 - decay ** jnp.asarray(count).astype(jnp.float32)

    def leaf(m):
        m_wide, c = _in_compute_dtype(m, correction)
        return (m_wide / c).astype(m.dtype)

    return jax.tree.map(leaf, moment)


def map_unzip(
    fn: Callable[..., tuple], num_outputs: int, tree: Any, *rest: Any
) -> tuple[Any, ...]:
    """Apply a multi-output leaf function and return one tree per output.

    The per-leaf maths of a transform is written once as ``fn`` and mapped
    here, which keeps the structure of ``tree`` (``None`` leaves included)
    in every output.

    Args:
        fn: Called as ``fn(leaf, *rest_leaves)``; returns ``num_outputs``
            values.
        num_outputs: The length of the tuple ``fn`` returns.
        tree: The tree that decides the structure.
        *rest: Trees with the structure of ``tree`` (or a prefix-compatible one).

    Returns:
        A tuple of ``num_outputs`` trees, each with the structure of ``tree``.
    """
    leaves, treedef = jax.tree.flatten(tree)
    rest_leaves = [treedef.flatten_up_to(r) for r in rest]
    outputs = [fn(*args) for args in zip(leaves, *rest_leaves, strict=True)]
    columns = list(zip(*outputs, strict=True)) if outputs else [()] * num_outputs
    return tuple(treedef.unflatten(column) for column in columns)


def moment_zeros_like(params: Any, dtype: Any | None = None) -> Any:
    """Return zeros shaped like ``params`` to hold a moving average.

    Each leaf gets ``dtype`` when given, else float32 for 16-bit params and
    the param's own dtype otherwise (see ``moment_dtype``).
    """
    return jax.tree.map(
        lambda x: jnp.zeros_like(x, dtype=moment_dtype(leaf_dtype(x), dtype)), params
    )


def stacked_zeros_like(tree: Any, num: int, dtype: Any | None = None) -> Any:
    """Return zeros of shape ``(num, *leaf.shape)`` for every leaf.

    Used for histories such as the L-BFGS memory. The new leading axis is
    unsharded and the other axes keep the leaf's ``NamedSharding``, so a
    sharded param gets a sharded history rather than a replicated one.

    Args:
        tree: A pytree of arrays.
        num: The length of the new leading axis.
        dtype: The dtype of every leaf; by default the moment dtype of each
            leaf (float32 for 16-bit leaves, the leaf's own otherwise).
    """

    def leaf(x):
        shape = (num, *jnp.shape(x))
        leaf_type = moment_dtype(leaf_dtype(x), dtype)
        # Under jit with explicit mesh axes the sharding is part of the type.
        spec = getattr(getattr(jax.typeof(x), "sharding", None), "spec", None)
        if spec is not None and any(axis is not None for axis in spec):
            return jnp.zeros(shape, leaf_type, out_sharding=P(None, *spec))
        sharding = (
            None if isinstance(x, jax.core.Tracer) else getattr(x, "sharding", None)
        )
        if isinstance(sharding, NamedSharding):
            stacked = NamedSharding(sharding.mesh, P(None, *sharding.spec))
            return jnp.zeros(shape, leaf_type, device=stacked)
        return jnp.zeros(shape, leaf_type)

    return jax.tree.map(leaf, tree)


def one_minus(value: Any, dtype: Any) -> jax.Array:
    """Return ``1 - value`` as an array of ``dtype``.

    For a Python number the difference is taken in double precision before
    it is rounded, so ``1 - 0.999`` becomes the float32 closest to 0.001.
    Rounding 0.999 to float32 first would give a value 1.3e-5 too small.
    Arrays (traced hyperparameters) are subtracted in ``dtype``.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return jnp.asarray(1 - value, dtype)
    return 1 - jnp.asarray(value).astype(dtype)
