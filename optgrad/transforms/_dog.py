"""Distance over gradients (DoG): a step size from the distance travelled."""

from typing import Any, NamedTuple

import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformation
from optgrad._typing import Updates
from optgrad.transforms._leaf_math import (
    block_norm,
    inverse_sqrt,
    require_params,
    square_dtype,
)


class ScaleByDistanceOverGradientsState(NamedTuple):
    """State of ``scale_by_distance_over_gradients``, one entry per param leaf."""

    max_dist: Updates  # Scalar: the largest distance from the initial params.
    grad_sum_of_squares: Updates  # Scalar: the sum of ||g||**2 over all steps.
    init_params: Updates  # The params at ``init``, in ``param_dtype``.


def scale_by_distance_over_gradients(
    reps_rel: float = 1e-6,
    eps: float = 1e-8,
    param_dtype: Any = jnp.float32,
    global_scale: float = 1.0,
) -> GradientTransformation:
    r"""Scale each leaf by its distance travelled over its root sum of squared grads.

    This is layer-wise DoG: for every leaf with params :math:`x_t`, initial
    params :math:`x_0` and gradients :math:`g_t`,

    .. math::

        r_t = \max\left(r_{t-1}, \|x_t - x_0\|\right), \quad
        r_0 = \rho (1 + \|x_0\|), \quad
        G_t = G_{t-1} + \|g_t\|^2, \quad
        u_t = s \frac{r_t}{\sqrt{G_t + \epsilon}} g_t.

    The output is an ascent direction for ``s > 0``. To descend, chain it
    with ``scale(-1)`` or pass ``global_scale=-1``. Its authors
    recommend averaging the iterates.

    Args:
        reps_rel: :math:`\rho`, the initial distance relative to the size of
            the params, > 0. They suggest 1e-4 for models with batch
            normalization and 1e-6 otherwise.
        eps: :math:`\epsilon`, added to the sum of squares, >= 0.
        param_dtype: The dtype the initial params are stored in, or ``None``
            for the params' own dtype.
        global_scale: :math:`s`, a factor of every update.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByDistanceOverGradientsState``;
        ``update`` needs the params.

    Notes:
        Distances and norms are exact for float16 params of 300 and float32
        params of 1e20, and the state of 16-bit params is kept in float32.
        :math:`G_t` is a sum of squares stored in float32 for float32
        params: a gradient of norm above about 1.8e19 makes it ``inf``, and
        the updates of that leaf are 0 from then on. The scalar entries have
        shape ``()``, where optax 0.2.8 stores ``grad_sum_of_squares`` with
        shape ``(1,)`` and so returns ``(1,)``-shaped updates for scalar
        params.

    References:
        Ivgi, Hinder and Carmon, "DoG is SGD's Best Friend: A Parameter-Free
        Dynamic Step Size Schedule", 2023, https://arxiv.org/abs/2302.12022
    """
    name = "scale_by_distance_over_gradients"
    _validate.check_positive(name, "reps_rel", reps_rel)
    _validate.check_non_negative(name, "eps", eps)
    _validate.check_dtype(name, "param_dtype", param_dtype)
    _validate.check_range(name, "global_scale", global_scale)

    def init_leaf(p):
        norm = block_norm(p)
        distance = jnp.asarray(reps_rel).astype(norm.dtype) * (1 + norm)
        return distance, jnp.zeros((), square_dtype(p.dtype))

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        max_dist, sums = tree.map_unzip(init_leaf, 2, params)
        return ScaleByDistanceOverGradientsState(
            max_dist=max_dist,
            grad_sum_of_squares=sums,
            init_params=tree.cast(params, param_dtype),
        )

    def leaf(g, p, distance, total, p0):
        dtype = tree.promote(tree.compute_dtype(p.dtype), tree.compute_dtype(p0.dtype))
        travelled = block_norm(p.astype(dtype) - p0.astype(dtype))
        new_distance = jnp.maximum(distance, travelled.astype(distance.dtype))
        g_norm = block_norm(g).astype(total.dtype)
        new_total = total + g_norm * g_norm
        real = tree.promote(distance.dtype, total.dtype)
        offset = jnp.asarray(eps).astype(real)
        step = (
            jnp.asarray(global_scale).astype(real)
            * new_distance.astype(real)
            * inverse_sqrt(new_total.astype(real) + offset)
        )
        g_wide = tree.widen(g)
        out_dtype = tree.promote(g_wide.dtype, real)
        out = g_wide.astype(out_dtype) * step.astype(out_dtype)
        return out.astype(g.dtype), new_distance, new_total

    def update_fn(updates, state, params=None):
        require_params(name, updates, params)
        tree.check_same_shapes(
            f"{name}.update",
            ("updates", updates),
            ("state.init_params", state.init_params),
        )
        updates, max_dist, sums = tree.map_unzip(
            leaf,
            3,
            updates,
            params,
            state.max_dist,
            state.grad_sum_of_squares,
            state.init_params,
        )
        return updates, ScaleByDistanceOverGradientsState(
            max_dist=max_dist, grad_sum_of_squares=sums, init_params=state.init_params
        )

    return GradientTransformation(init_fn, update_fn)
