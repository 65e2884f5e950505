"""Decoupled weight decay: ``add_decayed_weights``."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _messages, _validate, tree
from optgrad._base import EmptyState, GradientTransformation
from optgrad._numerics import safe_increment
from optgrad._typing import MaskOrFn, ScalarOrSchedule
from optgrad.transforms._masking import masked

AddDecayedWeightsState = EmptyState


class WeightDecaySchedule(NamedTuple):
    """State of ``add_decayed_weights`` when the rate is a schedule."""

    count: jax.Array  # int32 scalar: the number of updates so far.


def add_decayed_weights(
    weight_decay: ScalarOrSchedule = 0.0,
    mask: MaskOrFn | None = None,
) -> GradientTransformation:
    r"""Add ``weight_decay * params`` to the updates.

    Placed before the learning-rate scaling of an adaptive optimizer, this is
    the decoupled weight decay of AdamW: :math:`u \leftarrow u + \lambda p`.

    Args:
        weight_decay: :math:`\lambda`, a scalar >= 0 or a schedule of the step.
        mask: Where to decay: a pytree of booleans with the structure of the
            params (or a prefix of it), or a function of the params that
            returns one. Biases and normalization scales are usually left
            out. ``None`` decays every leaf.

    Returns:
        A ``GradientTransformation``; it needs ``params`` in ``update``.
    """
    _validate.check_scalar_or_schedule(
        "add_decayed_weights", "weight_decay", weight_decay
    )
    if not callable(weight_decay):
        _validate.check_non_negative(
            "add_decayed_weights", "weight_decay", weight_decay
        )
    return add_scaled_params(weight_decay, mask)


def add_scaled_params(
    weight_decay: ScalarOrSchedule, mask: MaskOrFn | None
) -> GradientTransformation:
    """Build ``add_decayed_weights`` without checking the sign of the rate.

    ``fromage`` shrinks the params with a negative rate.
    """
    scheduled = callable(weight_decay)

    def init_fn(params):
        tree.check_float_params("add_decayed_weights.init", params)
        if scheduled:
            return WeightDecaySchedule(count=jnp.zeros([], jnp.int32))
        return AddDecayedWeightsState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError(_messages.missing_params("add_decayed_weights"))
        tree.check_same_shapes(
            "add_decayed_weights.update", ("updates", updates), ("params", params)
        )
        if scheduled:
            rate = weight_decay(state.count)
            new_state = WeightDecaySchedule(count=safe_increment(state.count))
        else:
            rate = weight_decay
            new_state = state
        # A constant rate of zero is the default; skip the pass over memory.
        if not scheduled and _validate.concrete_scalar(rate) == 0.0:
            return updates, new_state

        def leaf(g, p):
            g_wide = tree.widen(g)
            dtype = tree.promote(g_wide.dtype, tree.compute_dtype(p.dtype))
            decay = jnp.asarray(rate).astype(dtype)
            return (g_wide.astype(dtype) + decay * p.astype(dtype)).astype(g.dtype)

        return jax.tree.map(leaf, updates, params), new_state

    transform = GradientTransformation(init_fn, update_fn)
    if mask is not None:
        return masked(transform, mask)
    return transform
