"""Momentum and exponential moving averages."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformation
from optgrad._numerics import safe_increment
from optgrad._typing import Updates
from optgrad.tree._math import one_minus


class TraceState(NamedTuple):
    """State of ``trace``."""

    trace: Updates  # The momentum buffer, shaped like the params.


def trace(
    decay: float,
    nesterov: bool = False,
    accumulator_dtype: Any | None = None,
) -> GradientTransformation:
    r"""Accumulate updates into a momentum buffer (heavy-ball or Nesterov).

    With buffer :math:`t` and incoming update :math:`g`, each step computes
    :math:`t \leftarrow g + \beta t` and returns :math:`t`, or
    :math:`g + \beta t` with ``nesterov=True``. Unlike the exponential moving
    average of ``ema``, the update is not scaled by :math:`1 - \beta`.

    Args:
        decay: The momentum coefficient :math:`\beta`, in [0, 1].
        nesterov: Return the Nesterov look-ahead :math:`g + \beta t`.
        accumulator_dtype: The buffer dtype; by default float32 for 16-bit
            params and the param dtype otherwise.

    Returns:
        A ``GradientTransformation`` with a ``TraceState``.

    References:
        Sutskever, Martens, Dahl and Hinton, "On the importance of
        initialization and momentum in deep learning", 2013,
        https://proceedings.mlr.press/v28/sutskever13.html
    """
    _validate.check_range("trace", "decay", decay, 0.0, 1.0)
    _validate.check_dtype("trace", "accumulator_dtype", accumulator_dtype)

    def init_fn(params):
        tree.check_float_params("trace.init", params)
        return TraceState(trace=tree.moment_zeros_like(params, accumulator_dtype))

    def leaf(g, t):
        g_wide = tree.widen(g)
        dtype = tree.promote(g_wide.dtype, tree.compute_dtype(t.dtype))
        g_wide = g_wide.astype(dtype)
        beta = jnp.asarray(decay).astype(dtype)
        new_t = g_wide + beta * t.astype(dtype)
        out = g_wide + beta * new_t if nesterov else new_t
        return out.astype(g.dtype), new_t.astype(t.dtype)

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            "trace.update",
            ("updates", updates),
            ("params", params),
            ("state.trace", state.trace),
        )
        updates, new_trace = tree.map_unzip(leaf, 2, updates, state.trace)
        return updates, TraceState(trace=new_trace)

    return GradientTransformation(init_fn, update_fn)


class EmaState(NamedTuple):
    """State of ``ema``."""

    count: jax.Array  # int32 scalar: the number of updates so far.
    ema: Updates  # The moving average, shaped like the params.


def ema(
    decay: float, debias: bool = True, accumulator_dtype: Any | None = None
) -> GradientTransformation:
    r"""Replace updates by their exponential moving average.

    Each step computes :math:`m \leftarrow (1 - \beta) g + \beta m` and
    returns :math:`m`, divided by :math:`1 - \beta^t` when ``debias`` is set
    so that early steps are not biased towards zero.

    Args:
        decay: The decay rate :math:`\beta`, in [0, 1].
        debias: Divide by :math:`1 - \beta^t`.
        accumulator_dtype: The average's dtype; by default float32 for 16-bit
            params and the param dtype otherwise.

    Returns:
        A ``GradientTransformation`` with an ``EmaState``.
    """
    _validate.check_range("ema", "decay", decay, 0.0, 1.0)
    _validate.check_dtype("ema", "accumulator_dtype", accumulator_dtype)

    def init_fn(params):
        tree.check_float_params("ema.init", params)
        return EmaState(
            count=jnp.zeros([], jnp.int32),
            ema=tree.moment_zeros_like(params, accumulator_dtype),
        )

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            "ema.update",
            ("updates", updates),
            ("params", params),
            ("state.ema", state.ema),
        )
        count = safe_increment(state.count)
        correction = 1 - jnp.asarray(decay, jnp.float32) ** count.astype(jnp.float32)

        def leaf(g, m):
            g_wide = tree.widen(g)
            dtype = tree.promote(g_wide.dtype, tree.compute_dtype(m.dtype))
            beta = jnp.asarray(decay).astype(dtype)
            new_m = one_minus(decay, dtype) * g_wide.astype(dtype) + beta * m.astype(
                dtype
            )
            out = new_m / correction.astype(dtype) if debias else new_m
            return out.astype(g.dtype), new_m.astype(m.dtype)

        updates, new_ema = tree.map_unzip(leaf, 2, updates, state.ema)
        return updates, EmaState(count=count, ema=new_ema)

    return GradientTransformation(init_fn, update_fn)
