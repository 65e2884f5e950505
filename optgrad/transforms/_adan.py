"""Adan's Nesterov moment estimates: ``scale_by_adan``."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformation
from optgrad._numerics import safe_increment
from optgrad._typing import Updates
from optgrad.transforms._adam import _bias_correction
from optgrad.transforms._leaf import cast_to, compute_dtype_of


class ScaleByAdanState(NamedTuple):
    """State of ``scale_by_adan``; the field names follow optax."""

    m: Updates  # Moving average of the gradients.
    v: Updates  # Moving average of the gradient differences g_t - g_{t-1}.
    n: Updates  # Moving average of (g_t + (1 - b2) * (g_t - g_{t-1}))**2.
    g: Updates  # The previous gradient.
    t: jax.Array  # int32 scalar: the number of updates so far.


def scale_by_adan(
    b1: float = 0.98,
    b2: float = 0.92,
    b3: float = 0.99,
    eps: float = 1e-8,
    eps_root: float = 0.0,
) -> GradientTransformation:
    """Rescale updates by Adan's Nesterov moment estimates.

    The maths and the reference are in ``optgrad.adan``. The three moments
    and the previous gradient of float16 and bfloat16 params are kept in
    float32.

    Args:
        b1: Decay rate of the gradient average, in [0, 1).
        b2: Decay rate of the gradient-difference average, in [0, 1).
        b3: Decay rate of the squared-term average, in [0, 1).
        eps: Added to the root of the squared term, >= 0.
        eps_root: Added to the squared term inside the root, >= 0.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByAdanState``.
    """
    name = "scale_by_adan"
    for arg, value in (("b1", b1), ("b2", b2), ("b3", b3)):
        _validate.check_decay(name, arg, value)
    _validate.check_non_negative(name, "eps", eps)
    _validate.check_non_negative(name, "eps_root", eps_root)

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return ScaleByAdanState(
            m=tree.moment_zeros_like(params),
            v=tree.moment_zeros_like(params),
            n=tree.moment_zeros_like(params),
            g=tree.moment_zeros_like(params),
            t=jnp.zeros([], jnp.int32),
        )

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update",
            ("updates", updates),
            ("params", params),
            ("state.m", state.m),
            ("state.v", state.v),
            ("state.n", state.n),
            ("state.g", state.g),
        )
        first = state.t == 0
        count = safe_increment(state.t)
        corrections = [_bias_correction(b, count) for b in (b1, b2, b3)]

        def leaf(g, m, v, n, g_prev):
            dtype = compute_dtype_of(g, m, v, n, g_prev)
            g_wide, m_old, v_old, n_old, g_old = cast_to(dtype, g, m, v, n, g_prev)
            beta1, beta2, beta3, eps_, eps_root_ = cast_to(
                dtype, b1, b2, b3, eps, eps_root
            )
            c1, c2, c3 = cast_to(dtype, *corrections)
            # There is no previous gradient at the first step.
            diff = jnp.where(first, jnp.zeros_like(g_wide), g_wide - g_old)
            new_m = (1 - beta1) * g_wide + beta1 * m_old
            new_v = (1 - beta2) * diff + beta2 * v_old
            ahead = g_wide + (1 - beta2) * diff
            new_n = (1 - beta3) * tree.abs_sq(ahead).astype(dtype) + beta3 * n_old
            direction = new_m / c1 + (1 - beta2) * (new_v / c2)
            out = direction / (jnp.sqrt(new_n / c3 + eps_root_) + eps_)
            return (
                out.astype(g.dtype),
                new_m.astype(m.dtype),
                new_v.astype(v.dtype),
                new_n.astype(n.dtype),
                g_wide.astype(g_prev.dtype),
            )

        updates, m, v, n, g = tree.map_unzip(
            leaf, 5, updates, state.m, state.v, state.n, state.g
        )
        return updates, ScaleByAdanState(m=m, v=v, n=n, g=g, t=count)

    return GradientTransformation(init_fn, update_fn)
