"""Adan: adaptive Nesterov momentum."""

from optgrad import _validate
from optgrad._base import GradientTransformationExtraArgs
from optgrad._typing import MaskOrFn, ScalarOrSchedule
from optgrad.optimizers._checks import check_weight_decay
from optgrad.transforms._adan import scale_by_adan
from optgrad.transforms._combining import chain
from optgrad.transforms._scaling import scale_by_learning_rate
from optgrad.transforms._weight_decay import add_decayed_weights


def adan(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.98,
    b2: float = 0.92,
    b3: float = 0.99,
    eps: float = 1e-8,
    eps_root: float = 1e-8,
    weight_decay: ScalarOrSchedule = 0.0,
    mask: MaskOrFn | None = None,
) -> GradientTransformationExtraArgs:
    r"""Adan: Adam-like steps on a Nesterov estimate of the gradient.

    With gradient :math:`g_t` at step :math:`t = 1, 2, \dots`, the difference
    :math:`\Delta_t = g_t - g_{t-1}` (zero at the first step), params
    :math:`\theta_t` and hats for division by :math:`1 - \beta_k^t`:

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) \Delta_t, \\
        n_t = \beta_3 n_{t-1} + (1 - \beta_3) |g_t + (1 - \beta_2) \Delta_t|^2,
        \\
        u_t = -\eta_t \left( \frac{\hat m_t + (1 - \beta_2) \hat v_t}
            {\sqrt{\hat n_t + \epsilon_{root}} + \epsilon}
            + \lambda \theta_t \right).

    Args:
        learning_rate: :math:`\eta_t`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, in [0, 1).
        b3: :math:`\beta_3`, in [0, 1).
        eps: :math:`\epsilon`, added outside the root, >= 0.
        eps_root: :math:`\epsilon_{root}`, added inside the root, >= 0.
        weight_decay: :math:`\lambda`, a scalar >= 0 or a schedule.
        mask: Where to decay, as in ``optgrad.adamw``.

    Returns:
        ``chain(scale_by_adan(...), add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate))``.

    Notes:
        Xie et al. weight each average the other way round (their
        :math:`\beta_k` is :math:`1 - \beta_k` here, so their 0.02, 0.08 and
        0.01 are the defaults above) and apply the weight decay as the
        proximal step :math:`\theta \leftarrow \theta / (1 + \lambda\eta)`.
        Here, as in optax 0.2.8, :math:`\lambda \theta_t` is added to the
        update instead. The moments and the previous gradient of 16-bit
        params are kept in float32.

    References:
        Xie, Zhou, Li, Lin and Yan, "Adan: Adaptive Nesterov Momentum
        Algorithm for Faster Optimizing Deep Models", 2022,
        https://arxiv.org/abs/2208.06677
    """
    name = "adan"
    _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    for arg, value in (("b1", b1), ("b2", b2), ("b3", b3)):
        _validate.check_decay(name, arg, value)
    for arg, value in (("eps", eps), ("eps_root", eps_root)):
        _validate.check_non_negative(name, arg, value)
    check_weight_decay(name, weight_decay)
    return chain(
        scale_by_adan(b1, b2, b3, eps, eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
