"""NovoGrad's layer-wise second moment: ``scale_by_novograd``."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _messages, _validate, tree
from optgrad._base import GradientTransformation
from optgrad._numerics import safe_increment
from optgrad._typing import MaskOrFn, ScalarOrSchedule, Updates
from optgrad.transforms._leaf import cast_to, compute_dtype_of, leaf_flags
from optgrad.transforms._masking import resolve_mask


class ScaleByNovogradState(NamedTuple):
    """State of ``scale_by_novograd``."""

    count: jax.Array  # int32 scalar: the number of updates so far.
    mu: Updates  # First moment of the normalized gradients, like the params.
    nu: Updates  # One scalar per leaf: moving average of the squared leaf norm.


def scale_by_novograd(
    b1: float = 0.9,
    b2: float = 0.25,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
    mu_dtype: Any | None = None,
    *,
    mask: MaskOrFn | None = None,
) -> GradientTransformation:
    """Rescale updates by NovoGrad's layer-wise normalized momentum.

    The maths and the reference are in ``optgrad.novograd``. The leaf norms
    are computed in at least float32 and safely at both ends of the float
    range (see ``optgrad.tree.norm``), and the per-leaf second moments of
    float16 and bfloat16 params are float32 scalars.

    Args:
        b1: Weight of the previous first moment, in [0, 1].
        b2: Decay rate of the squared leaf norms, in [0, 1).
        eps: Added to the root of the second moment, >= 0.
        eps_root: Added to the second moment inside the root, >= 0.
        weight_decay: Rate of the weight decay added to the normalized
            gradient, a scalar >= 0 or a schedule of the step.
        mu_dtype: The first moment's dtype; by default float32 for 16-bit
            params and the param dtype otherwise.
        mask: Where to decay: a pytree of booleans with the structure of the
            params (or a prefix of it), or a function of the params that
            returns one. ``None`` decays every leaf.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByNovogradState``. Its
        ``update`` needs the params unless ``weight_decay`` is the constant 0.
    """
    name = "scale_by_novograd"
    _validate.check_range(name, "b1", b1, 0.0, 1.0)
    _validate.check_decay(name, "b2", b2)
    _validate.check_non_negative(name, "eps", eps)
    _validate.check_non_negative(name, "eps_root", eps_root)
    _validate.check_scalar_or_schedule(name, "weight_decay", weight_decay)
    if not callable(weight_decay):
        _validate.check_non_negative(name, "weight_decay", weight_decay)
    _validate.check_dtype(name, "mu_dtype", mu_dtype)
    scheduled = callable(weight_decay)
    no_decay = not scheduled and _validate.concrete_scalar(weight_decay) == 0.0

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return ScaleByNovogradState(
            count=jnp.zeros([], jnp.int32),
            mu=tree.moment_zeros_like(params, mu_dtype),
            nu=jax.tree.map(
                lambda p: jnp.zeros([], tree.real_dtype(tree.moment_dtype(p.dtype))),
                params,
            ),
        )

    def decay_rates(params, rate):
        """Return the weight-decay rate of every leaf, 0 where masked out."""
        if mask is None:
            return jax.tree.map(lambda _: rate, params)
        flags = leaf_flags(resolve_mask(mask, params), params, f"{name}.update")
        return jax.tree.map(lambda keep: rate if keep else 0.0, flags)

    def update_fn(updates, state, params=None):
        if params is None and not no_decay:
            raise ValueError(_messages.missing_params(name))
        tree.check_same_shapes(
            f"{name}.update",
            ("updates", updates),
            ("params", params),
            ("state.mu", state.mu),
        )
        count = safe_increment(state.count)
        first = count == 1
        if no_decay:
            # Stand-ins, unused by ``leaf``; they keep one mapping for both cases.
            params = updates
            rates = jax.tree.map(lambda _: 0.0, updates)
        else:
            rate = weight_decay(state.count) if scheduled else weight_decay
            rates = decay_rates(params, rate)

        def leaf(g, m, v, p, decay):
            dtype = compute_dtype_of(g, m, p)
            g_wide, m_old, p_wide = cast_to(dtype, g, m, p)
            beta1, eps_, decay_ = cast_to(dtype, b1, eps, decay)
            # The second moment is a real scalar, also for complex leaves.
            v_dtype = tree.promote(tree.compute_dtype(v.dtype), tree.real_dtype(dtype))
            sq_norm = tree.norm(g_wide, squared=True)
            sq_norm, v_old, beta2, eps_root_ = cast_to(
                v_dtype, sq_norm, v, b2, eps_root
            )
            # The first step starts the average at the first squared norm.
            new_v = jnp.where(first, sq_norm, (1 - beta2) * sq_norm + beta2 * v_old)
            root = tree.safe_sqrt(new_v + eps_root_).astype(dtype)
            step = g_wide / (root + eps_)
            if not no_decay:
                step = step + decay_ * p_wide
            new_m = jnp.where(first, step, beta1 * m_old + step)
            return new_m.astype(g.dtype), new_m.astype(m.dtype), new_v.astype(v.dtype)

        updates, mu, nu = tree.map_unzip(
            leaf, 3, updates, state.mu, state.nu, params, rates
        )
        return updates, ScaleByNovogradState(count=count, mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)
