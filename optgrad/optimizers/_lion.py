"""Lion: signed momentum."""

from typing import Any

from optgrad import _validate
from optgrad._base import GradientTransformationExtraArgs
from optgrad._typing import MaskOrFn, ScalarOrSchedule
from optgrad.optimizers._checks import check_weight_decay
from optgrad.transforms._combining import chain
from optgrad.transforms._lion import scale_by_lion
from optgrad.transforms._scaling import scale_by_learning_rate
from optgrad.transforms._weight_decay import add_decayed_weights


def lion(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.99,
    mu_dtype: Any | None = None,
    weight_decay: ScalarOrSchedule = 1e-3,
    mask: MaskOrFn | None = None,
) -> GradientTransformationExtraArgs:
    r"""Lion: steps of equal size per element, in the sign of a momentum.

    With gradient :math:`g_t`, momentum :math:`m_t` and params
    :math:`\theta_t`:

    .. math::

        c_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        u_t = -\eta_t \left( \operatorname{sign}(c_t) + \lambda \theta_t
            \right), \quad
        m_t = \beta_2 m_{t-1} + (1 - \beta_2) g_t.

    Every element moves by :math:`\eta_t` (plus the decay), so a good
    learning rate is several times smaller than AdamW's, and a good
    :math:`\lambda` correspondingly larger.

    Args:
        learning_rate: :math:`\eta_t`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1].
        b2: :math:`\beta_2`, in [0, 1].
        mu_dtype: The dtype of :math:`m`; by default float32 for 16-bit params
            and the param dtype otherwise.
        weight_decay: :math:`\lambda`, a scalar >= 0 or a schedule.
        mask: Where to decay, as in ``optgrad.adamw``.

    Returns:
        ``chain(scale_by_lion(...), add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate))``.

    Notes:
        ``scale_by_lion`` also offers the smooth ``tanh`` and ``"refined"``
        replacements of the sign, which are not in the paper.

    References:
        Chen et al., "Symbolic Discovery of Optimization Algorithms", 2023,
        https://arxiv.org/abs/2302.06675
    """
    name = "lion"
    _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    _validate.check_range(name, "b1", b1, 0.0, 1.0)
    _validate.check_range(name, "b2", b2, 0.0, 1.0)
    check_weight_decay(name, weight_decay)
    return chain(
        scale_by_lion(b1, b2, mu_dtype),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
