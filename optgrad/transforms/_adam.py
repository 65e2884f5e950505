"""Adam's moment estimates and the transforms built on the same two moments."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformation
from optgrad._numerics import safe_increment
from optgrad._typing import Updates
from optgrad.tree._math import one_minus


class ScaleByAdamState(NamedTuple):
    """State of ``scale_by_adam``."""

    count: jax.Array  # int32 scalar: the number of updates so far.
    mu: Updates  # First moment: moving average of the gradients.
    nu: Updates  # Second moment: moving average of the squared gradients.


def _bias_correction(decay: Any, count: jax.Array) -> jax.Array:
    """Return ``1 - decay**count`` in float32."""
    return 1 - jnp.asarray(decay).astype(jnp.float32) ** count.astype(jnp.float32)


def scale_by_adam(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """Rescale updates by Adam's bias-corrected moment ratio.

    The maths, the options and the references are in ``optgrad.adam``.
    Moments of float16 and bfloat16 params are kept in float32 unless
    ``mu_dtype`` asks for less (the second moment always is).

    Args:
        b1: Decay rate of the first moment, in [0, 1).
        b2: Decay rate of the second moment, in [0, 1).
        eps: Added to the root of the second moment, >= 0.
        eps_root: Added to the second moment inside the root, >= 0.
        mu_dtype: The first moment's dtype; see above for the default.
        nesterov: Use Nesterov momentum (Nadam).

    Returns:
        A ``GradientTransformation`` with a ``ScaleByAdamState``.
    """
    name = "scale_by_adam"
    _validate.check_decay(name, "b1", b1)
    _validate.check_decay(name, "b2", b2)
    _validate.check_non_negative(name, "eps", eps)
    _validate.check_non_negative(name, "eps_root", eps_root)
    _validate.check_dtype(name, "mu_dtype", mu_dtype)

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return ScaleByAdamState(
            count=jnp.zeros([], jnp.int32),
            mu=tree.moment_zeros_like(params, mu_dtype),
            nu=tree.moment_zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update",
            ("updates", updates),
            ("params", params),
            ("state.mu", state.mu),
            ("state.nu", state.nu),
        )
        count = safe_increment(state.count)
        correction1 = _bias_correction(b1, count)
        correction2 = _bias_correction(b2, count)
        # Nadam looks one step ahead, so its momentum term is corrected
        # with the next count.
        correction1_next = _bias_correction(b1, safe_increment(count))

        def leaf(g, m, v):
            g_wide = tree.widen(g)
            dtype = tree.promote(g_wide.dtype, tree.compute_dtype(m.dtype))
            g_wide = g_wide.astype(dtype)
            beta1 = jnp.asarray(b1).astype(dtype)
            beta2 = jnp.asarray(b2).astype(dtype)
            new_m = one_minus(b1, dtype) * g_wide + beta1 * m.astype(dtype)
            g_sq = tree.abs_sq(g_wide).astype(dtype)
            new_v = one_minus(b2, dtype) * g_sq + beta2 * v.astype(dtype)
            if nesterov:
                # Grouped as optax 0.2.8 groups it, so float32 results agree
                # to the last bit.
                ahead = beta1 * (new_m / correction1_next.astype(dtype))
                now = one_minus(b1, dtype) * (g_wide / correction1.astype(dtype))
                m_hat = ahead + now
            else:
                m_hat = new_m / correction1.astype(dtype)
            v_hat = new_v / correction2.astype(dtype)
            root = jnp.sqrt(v_hat + jnp.asarray(eps_root).astype(dtype))
            out = m_hat / (root + jnp.asarray(eps).astype(dtype))
            return out.astype(g.dtype), new_m.astype(m.dtype), new_v.astype(v.dtype)

        updates, mu, nu = tree.map_unzip(leaf, 3, updates, state.mu, state.nu)
        return updates, ScaleByAdamState(count=count, mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)
