"""Polyak's step size, computed from the loss value passed to ``update``."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optgrad import _validate, tree
from optgrad._base import GradientTransformationExtraArgs
from optgrad.transforms._leaf_math import scale_leaf, stateless_init

# Steps are zero when ||u||**2 + eps is at most float64's machine epsilon,
# the threshold optax 0.2.8 uses, so the two agree near a stationary point.
_TINY_SQUARED_NORM = float(np.finfo(np.float64).eps)

_VARIANTS = ("sps", "sps+")


def check_polyak_args(
    name: str, f_min: Any, max_learning_rate: Any, eps: Any, variant: Any
) -> None:
    """Check the Polyak step's hyperparameters, naming the call ``name`` in errors."""
    _validate.check_range(name, "f_min", f_min)
    _validate.check_non_negative(name, "max_learning_rate", max_learning_rate)
    _validate.check_non_negative(name, "eps", eps)
    if variant not in _VARIANTS:
        raise ValueError(
            f"{name}(variant={variant!r}) is invalid: variant must be 'sps' or 'sps+'."
        )


def scale_by_polyak(
    f_min: float = 0.0,
    max_learning_rate: float = 1.0,
    eps: float = 0.0,
    variant: str = "sps",
) -> GradientTransformationExtraArgs:
    r"""Scale the updates by the Polyak step size ``(f - f_min) / ||u||**2``.

    With incoming updates :math:`u` and loss value :math:`f` the output is
    :math:`\min\left(\frac{f - f^\star}{\|u\|^2 + \epsilon},
    \gamma_{max}\right) u`, and 0 when :math:`\|u\|^2 + \epsilon` is at most
    float64's machine epsilon (about 2.2e-16). ``variant="sps+"`` uses
    :math:`\max(f - f^\star, 0)` instead of :math:`f - f^\star`.
    ``optgrad.polyak_sgd`` gives the references.

    Args:
        f_min: :math:`f^\star`, a lower bound of the loss.
        max_learning_rate: :math:`\gamma_{max}`, the largest step size, >= 0.
        eps: :math:`\epsilon`, added to the squared norm, >= 0.
        variant: ``"sps"`` or ``"sps+"``.

    Returns:
        A ``GradientTransformationExtraArgs`` whose ``update`` takes the loss
        value as the keyword argument ``value``.

    Notes:
        The step is computed from the norm, not from the squared norm, so
        updates of norm 1e20 in float32 (squared norm 1e40, which overflows)
        get the right step instead of 0. optax 0.2.8 raises an invalid
        ``variant`` only when ``update`` runs, and optgrad's factory raises.
    """
    name = "scale_by_polyak"
    check_polyak_args(name, f_min, max_learning_rate, eps, variant)

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del extra_args
        tree.check_same_shapes(
            f"{name}.update", ("updates", updates), ("params", params)
        )
        if value is None:
            raise ValueError(
                f"{name}.update needs the loss value: call "
                "update(updates, state, params, value=loss)."
            )
        if np.ndim(value) != 0:
            raise ValueError(
                f"{name}.update: value must be the scalar loss, got an array of "
                f"shape {np.shape(value)}."
            )
        step = polyak_step(updates, value)
        return jax.tree.map(lambda u: scale_leaf(u, step), updates), state

    def polyak_step(updates, value):
        norm = tree.norm(updates)
        dtype = norm.dtype
        gap = jnp.asarray(value).astype(dtype) - jnp.asarray(f_min).astype(dtype)
        if variant == "sps+":
            gap = jnp.maximum(gap, 0)
        offset = jnp.asarray(eps).astype(dtype)
        usable = norm * norm + offset > _TINY_SQUARED_NORM
        # This is gap / (norm**2 + eps). For norm >= 1 the numerator and the
        # denominator are divided by norm first, so nothing overflows. Each
        # branch gets safe inputs where it is not used, which keeps the
        # gradient finite.
        large = norm >= 1
        big_norm = jnp.where(large, norm, 1)
        small_norm = jnp.where(large, 0, norm)
        small_denominator = jnp.where(
            large | ~usable, 1, small_norm * small_norm + offset
        )
        ratio = jnp.where(
            large,
            (gap / big_norm) / (big_norm + offset / big_norm),
            gap / small_denominator,
        )
        limit = jnp.asarray(max_learning_rate).astype(dtype)
        return jnp.where(usable, jnp.minimum(ratio, limit), 0)

    return GradientTransformationExtraArgs(stateless_init(name), update_fn)
