"""Lion's sign of interpolated momentum: ``scale_by_lion``."""

from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformation
from optgrad._numerics import safe_increment
from optgrad._typing import Updates
from optgrad.transforms._leaf import cast_to, compute_dtype_of

_LION_MODES = ("hard", "smooth", "refined")


class ScaleByLionState(NamedTuple):
    """State of ``scale_by_lion``."""

    count: jax.Array  # int32 scalar: the number of updates so far.
    mu: Updates  # Momentum: moving average of the gradients with rate b2.


def scale_by_lion(
    b1: float = 0.9,
    b2: float = 0.99,
    mu_dtype: Any | None = None,
    *,
    mode: Literal["hard", "smooth", "refined"] = "hard",
    smooth_beta: float = 1.0,
) -> GradientTransformation:
    """Replace updates by the sign of Lion's interpolated momentum.

    The maths and the reference are in ``optgrad.lion``. The momentum of
    float16 and bfloat16 params is kept in float32 unless ``mu_dtype``
    sets another dtype.

    Args:
        b1: Weight of the momentum in the interpolation that is signed, in
            [0, 1].
        b2: Decay rate of the momentum, in [0, 1].
        mu_dtype: The momentum's dtype; see above for the default.
        mode: ``"hard"`` takes ``sign(c)``; ``"smooth"`` takes
            ``tanh(smooth_beta * c)``; ``"refined"`` keeps ``c`` where
            ``|c| < 1`` and takes ``sign(c)`` elsewhere.
        smooth_beta: The slope of ``tanh`` in ``"smooth"`` mode, > 0.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByLionState``.

    Raises:
        ValueError: For a ``mode`` other than the three above, at
            construction (optax 0.2.8 raises only when ``update`` runs).
    """
    name = "scale_by_lion"
    _validate.check_range(name, "b1", b1, 0.0, 1.0)
    _validate.check_range(name, "b2", b2, 0.0, 1.0)
    _validate.check_dtype(name, "mu_dtype", mu_dtype)
    _validate.check_positive(name, "smooth_beta", smooth_beta)
    if mode not in _LION_MODES:
        raise ValueError(
            f"{name}(mode={mode!r}) is not a known mode: use one of "
            f"{', '.join(repr(m) for m in _LION_MODES)}."
        )

    def shape_step(c):
        if mode == "hard":
            return jnp.sign(c)
        if mode == "smooth":
            return jnp.tanh(jnp.asarray(smooth_beta).astype(c.dtype) * c)
        return jnp.where(jnp.abs(c) < 1, c, jnp.sign(c))

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return ScaleByLionState(
            count=jnp.zeros([], jnp.int32),
            mu=tree.moment_zeros_like(params, mu_dtype),
        )

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update",
            ("updates", updates),
            ("params", params),
            ("state.mu", state.mu),
        )

        def leaf(g, m):
            dtype = compute_dtype_of(g, m)
            g_wide, m_old, beta1, beta2 = cast_to(dtype, g, m, b1, b2)
            out = shape_step((1 - beta1) * g_wide + beta1 * m_old)
            new_m = (1 - beta2) * g_wide + beta2 * m_old
            return out.astype(g.dtype), new_m.astype(m.dtype)

        updates, mu = tree.map_unzip(leaf, 2, updates, state.mu)
        return updates, ScaleByLionState(count=safe_increment(state.count), mu=mu)

    return GradientTransformation(init_fn, update_fn)
