"""Per-leaf scaling by norms: trust ratios and parameter-block scales.

A leaf of the params tree is treated as one block (a weight matrix, a bias
vector). Every norm here comes from ``optgrad.tree.norm``, which is exact
for float16 values of 300 and float32 values of 1e20 and has a zero
gradient at zero.
"""

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import EmptyState, GradientTransformation
from optgrad.transforms._leaf_math import (
    at_least,
    block_norm,
    block_rms,
    require_params,
    scale_leaf,
    stateless_init,
)

ScaleByTrustRatioState = EmptyState


def scale_by_trust_ratio(
    min_norm: float = 0.0,
    trust_coefficient: float = 1.0,
    eps: float = 0.0,
) -> GradientTransformation:
    r"""Scale each leaf's update by the ratio of the param norm to the update norm.

    For a leaf with params :math:`p` and update :math:`u` the output is
    :math:`c \, \frac{\max(\|p\|, m)}{\max(\|u\|, m) + \epsilon} \, u`. When
    either norm is exactly zero the ratio is 1, so a zero update stays zero
    and a zero param still moves. LARS, LAMB and Fromage use this scaling;
    their docstrings give the full update rules.

    Args:
        min_norm: :math:`m`, the smallest norm used for either leaf, >= 0.
        trust_coefficient: :math:`c`, a multiplier of the ratio, >= 0.
        eps: :math:`\epsilon`, added to the update norm, >= 0.

    Returns:
        A stateless ``GradientTransformation`` whose ``update`` needs the
        params.

    Notes:
        The norms are computed in at least float32 and rescaled when the sum
        of squares would overflow, so float16 params near 300 and float32
        params near 1e20 get their true ratio. optax 0.2.8 computes the
        norms in the param dtype, where they overflow to ``inf`` and the
        ratio becomes NaN or 0.
    """
    name = "scale_by_trust_ratio"
    _validate.check_non_negative(name, "min_norm", min_norm)
    _validate.check_non_negative(name, "trust_coefficient", trust_coefficient)
    _validate.check_non_negative(name, "eps", eps)

    def leaf(g, p):
        param_norm = at_least(block_norm(p), min_norm)
        update_norm = at_least(block_norm(g), min_norm)
        dtype = tree.promote(param_norm.dtype, update_norm.dtype)
        param_norm = param_norm.astype(dtype)
        update_norm = update_norm.astype(dtype)
        either_zero = (param_norm == 0) | (update_norm == 0)
        denominator = update_norm + jnp.asarray(eps).astype(dtype)
        # The denominator is replaced where the ratio is not used, so that
        # neither the value nor its gradient divides by zero.
        safe_denominator = jnp.where(either_zero, 1, denominator)
        coefficient = jnp.asarray(trust_coefficient).astype(dtype)
        ratio = coefficient * param_norm / safe_denominator
        return scale_leaf(g, jnp.where(either_zero, jnp.ones_like(ratio), ratio))

    def update_fn(updates, state, params=None):
        require_params(name, updates, params)
        return jax.tree.map(leaf, updates, params), state

    return GradientTransformation(stateless_init(name), update_fn)


def _scale_by_param_block(
    name: str, min_scale: float, measure
) -> GradientTransformation:
    """Build a transform that multiplies each leaf by ``measure(params leaf)``."""
    _validate.check_non_negative(name, "min_scale", min_scale)

    def update_fn(updates, state, params=None):
        require_params(name, updates, params)
        updates = jax.tree.map(
            lambda g, p: scale_leaf(g, at_least(measure(p), min_scale)),
            updates,
            params,
        )
        return updates, state

    return GradientTransformation(stateless_init(name), update_fn)


def scale_by_param_block_norm(min_scale: float = 1e-3) -> GradientTransformation:
    """Multiply each leaf's update by the 2-norm of its params.

    Args:
        min_scale: The smallest factor used, >= 0, so that params at zero
            still move.

    Returns:
        A stateless ``GradientTransformation`` whose ``update`` needs the
        params.
    """
    return _scale_by_param_block("scale_by_param_block_norm", min_scale, block_norm)


def scale_by_param_block_rms(min_scale: float = 1e-3) -> GradientTransformation:
    """Multiply each leaf's update by the root mean square of its params.

    Adafactor uses this scaling to make the step relative to the size of
    the weights (``multiply_by_parameter_scale``).

    Args:
        min_scale: The smallest factor used, >= 0, so that params at zero
            still move.

    Returns:
        A stateless ``GradientTransformation`` whose ``update`` needs the
        params.
    """
    return _scale_by_param_block("scale_by_param_block_rms", min_scale, block_rms)
