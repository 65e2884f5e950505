"""Helpers shared by the transforms: dtypes, safe roots, block norms, checks.

The arithmetic helpers take and return single arrays (leaves), not trees.
Each transform computes a leaf in the promoted compute dtype of the
incoming update and its state leaves (float32 for 16-bit floats), and
casts hyperparameters to that dtype first, so that the code runs under
strict dtype promotion.
"""

from typing import Any

import jax
import jax.numpy as jnp

from optgrad import _messages, tree
from optgrad._base import EmptyState
from optgrad.tree._math import root_mean_square


def compute_dtype_of(*leaves: Any) -> Any:
    """Return the dtype that arithmetic on ``leaves`` runs in.

    It is JAX's promotion of each leaf's compute dtype, so float16 and
    bfloat16 leaves are computed in float32.
    """
    return tree.promote(*[tree.compute_dtype(jnp.asarray(x).dtype) for x in leaves])


def cast_to(dtype: Any, *values: Any) -> list[jax.Array]:
    """Return ``values`` (arrays or Python scalars) as arrays of ``dtype``."""
    return [jnp.asarray(value).astype(dtype) for value in values]


def square_dtype(param_dtype: Any) -> Any:
    """Return the dtype of a sum of squares for params of ``param_dtype``.

    It is the real counterpart of the compute dtype: float32 for 16-bit and
    complex64 params, float64 for float64 and complex128 params.
    """
    return tree.real_dtype(tree.compute_dtype(param_dtype))


def squares_like(params: Any, fill_value: Any = 0.0) -> Any:
    """Return accumulators for squared magnitudes, shaped like ``params``."""
    return jax.tree.map(
        lambda p: jnp.full_like(p, fill_value, dtype=square_dtype(p.dtype)), params
    )


def inverse_sqrt(x: jax.Array) -> jax.Array:
    """Return ``1 / sqrt(x)`` where ``x > 0`` and 0 elsewhere, with finite gradients."""
    positive = x > 0
    return jnp.where(positive, jax.lax.rsqrt(jnp.where(positive, x, 1)), 0)


def inverse(x: jax.Array) -> jax.Array:
    """Return ``1 / x`` where ``x > 0`` and 0 elsewhere, with finite gradients."""
    positive = x > 0
    return jnp.where(positive, 1 / jnp.where(positive, x, 1), 0)


# Jitted so that eager callers run one compiled norm per leaf shape instead of
# dispatching each operation of the overflow-safe norm on its own.
@jax.jit
def block_norm(x: jax.Array) -> jax.Array:
    """Return the 2-norm of one leaf as a real scalar in its compute dtype.

    ``optgrad.tree.norm`` is exact for float16 values of 300 and float32
    values of 1e20 and has a zero gradient at zero.
    """
    return tree.norm(x).astype(square_dtype(x.dtype))


@jax.jit
def block_rms(x: jax.Array) -> jax.Array:
    """Return ``sqrt(mean(|x|**2))`` of one leaf, or 0 for a zero-size leaf.

    Safe at both ends of the float range, like ``block_norm``.
    """
    return root_mean_square(x).astype(square_dtype(x.dtype))


def at_least(value: jax.Array, minimum: Any) -> jax.Array:
    """Return ``max(value, minimum)`` with a zero gradient below ``minimum``."""
    minimum = jnp.asarray(minimum).astype(value.dtype)
    return jnp.where(value <= minimum, minimum, value)


def scale_leaf(g: jax.Array, factor: jax.Array) -> jax.Array:
    """Multiply a leaf by a scalar in the compute dtype and keep the leaf dtype."""
    g_wide = tree.widen(g)
    dtype = tree.promote(g_wide.dtype, factor.dtype)
    return (g_wide.astype(dtype) * factor.astype(dtype)).astype(g.dtype)


def require_params(name: str, updates: Any, params: Any) -> None:
    """Raise unless ``params`` are given and shaped like ``updates``."""
    if params is None:
        raise ValueError(_messages.missing_params(name))
    tree.check_same_shapes(f"{name}.update", ("updates", updates), ("params", params))


def reject_complex(call: str, params: Any) -> None:
    """Raise ``TypeError`` listing the complex leaves of ``params``."""
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    bad = [tree.leaf_path(path) for path, leaf in flat if jnp.iscomplexobj(leaf)]
    if bad:
        raise TypeError(
            f"{call}.init: complex params are not supported, but "
            f"{len(bad)} {'leaf is' if len(bad) == 1 else 'leaves are'} complex: "
            f"{', '.join(bad[:8])}. Optimize the real and imaginary parts as "
            "separate real leaves."
        )


def stateless_init(name: str):
    """Return an ``init`` that checks the params and returns ``EmptyState()``."""

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return EmptyState()

    return init_fn
