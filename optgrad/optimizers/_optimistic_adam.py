"""Optimistic Adam for saddle-point problems such as GAN training."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformation, GradientTransformationExtraArgs
from optgrad._typing import ScalarOrSchedule, Updates
from optgrad.optimizers._checks import check_adam_args
from optgrad.transforms._adam import scale_by_adam
from optgrad.transforms._combining import chain
from optgrad.transforms._leaf import cast_to, compute_dtype_of
from optgrad.transforms._scaling import scale_by_learning_rate


class _OptimisticState(NamedTuple):
    is_initial_step: jax.Array  # bool scalar: no update has been made yet.
    previous_gradient: Updates  # The previous incoming update.


# TODO: build both optimizers from ``scale_by_optimistic_gradient`` once
# optgrad.transforms provides it. That transform computes the same step with
# the same state fields, so this private copy can then go.
def _optimistic_step(alpha: Any, beta: Any) -> GradientTransformation:
    """Return ``(alpha + beta) * r_t - beta * r_{t-1}``, with ``r_0 = r_1``."""

    def init_fn(params):
        tree.check_float_params("optimistic_adam.init", params)
        return _OptimisticState(
            is_initial_step=jnp.ones([], jnp.bool_),
            previous_gradient=tree.moment_zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            "optimistic_adam.update",
            ("updates", updates),
            ("params", params),
            ("state.previous_gradient", state.previous_gradient),
        )

        def leaf(r, r_prev):
            dtype = compute_dtype_of(r, r_prev)
            r_wide, r_old, alpha_, beta_ = cast_to(dtype, r, r_prev, alpha, beta)
            r_old = jnp.where(state.is_initial_step, r_wide, r_old)
            out = (alpha_ + beta_) * r_wide - beta_ * r_old
            return out.astype(r.dtype), r_wide.astype(r_prev.dtype)

        updates, previous = tree.map_unzip(leaf, 2, updates, state.previous_gradient)
        return updates, _OptimisticState(jnp.zeros([], jnp.bool_), previous)

    return GradientTransformation(init_fn, update_fn)


def optimistic_adam(
    learning_rate: float,
    optimism: float | None = None,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
) -> GradientTransformationExtraArgs:
    r"""Optimistic Adam with the optimism given as a step size.

    With the Adam direction
    :math:`r_t = \hat m_t / (\sqrt{\hat v_t + \epsilon_{root}} + \epsilon)`
    of ``optgrad.adam`` (Nesterov by default) and :math:`r_0 = r_1`:

    .. math::

        u_t = -\eta\, r_t - o\, (r_t - r_{t-1}).

    The extrapolation term :math:`-o (r_t - r_{t-1})` damps the cycling
    of plain gradient steps on min-max problems.

    Args:
        learning_rate: :math:`\eta`, a number; use ``optimistic_adam_v2`` for
            a schedule.
        optimism: :math:`o`; ``None`` takes :math:`\eta`, as in the paper.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, in [0, 1).
        eps: :math:`\epsilon`, added outside the root, >= 0.
        eps_root: :math:`\epsilon_{root}`, added inside the root, >= 0.
        mu_dtype: The dtype of Adam's first moment.
        nesterov: Use Nesterov momentum in the Adam direction.

    Returns:
        ``chain(scale_by_adam(...), <optimistic step>, scale_by_learning_rate(1.0))``.

    Raises:
        ValueError: If ``learning_rate`` is a schedule.

    Notes:
        optax 0.2.8 marks this interface deprecated in favour of
        ``optimistic_adam_v2`` and warns on every call. optgrad computes the
        same updates without a warning.

    References:
        Daskalakis, Ilyas, Syrgkanis and Zeng, "Training GANs with Optimism",
        2018, https://arxiv.org/abs/1711.00141
    """
    name = "optimistic_adam"
    if callable(learning_rate):
        raise ValueError(
            f"{name}(learning_rate=...) must be a number, because it also scales "
            "the optimism step. Use optimistic_adam_v2 for a schedule."
        )
    check_adam_args(name, learning_rate, b1, b2, eps, eps_root)
    if optimism is None:
        optimism = learning_rate
    _validate.check_range(name, "optimism", optimism)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        _optimistic_step(learning_rate, optimism),
        scale_by_learning_rate(1.0),
    )


def optimistic_adam_v2(
    learning_rate: ScalarOrSchedule,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any | None = None,
    nesterov: bool = True,
) -> GradientTransformationExtraArgs:
    r"""Optimistic Adam with the optimism given as relative weights.

    With the Adam direction :math:`r_t` of ``optgrad.optimistic_adam`` and
    :math:`r_0 = r_1`:

    .. math::

        u_t = -\eta_t \left( (\alpha + \beta)\, r_t - \beta\, r_{t-1} \right).

    ``optimistic_adam(lr, optimism)`` is ``optimistic_adam_v2(1.0,
    alpha=lr, beta=optimism)``; this form takes a schedule.

    Args:
        learning_rate: :math:`\eta_t`, a scalar or a schedule.
        alpha: :math:`\alpha`, the weight of the current direction.
        beta: :math:`\beta`, the weight of the extrapolation.
        b1: Adam's :math:`\beta_1`, in [0, 1).
        b2: Adam's :math:`\beta_2`, in [0, 1).
        eps: Added outside the root, >= 0.
        eps_root: Added inside the root, >= 0.
        mu_dtype: The dtype of Adam's first moment.
        nesterov: Use Nesterov momentum in the Adam direction.

    Returns:
        ``chain(scale_by_adam(...), <optimistic step>,
        scale_by_learning_rate(learning_rate))``.

    References:
        Daskalakis, Ilyas, Syrgkanis and Zeng, "Training GANs with Optimism",
        2018, https://arxiv.org/abs/1711.00141
    """
    name = "optimistic_adam_v2"
    check_adam_args(name, learning_rate, b1, b2, eps, eps_root)
    _validate.check_range(name, "alpha", alpha)
    _validate.check_range(name, "beta", beta)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        _optimistic_step(alpha, beta),
        scale_by_learning_rate(learning_rate),
    )
