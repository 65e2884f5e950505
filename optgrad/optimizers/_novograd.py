"""NovoGrad: momentum on gradients normalized layer by layer."""

from optgrad import _validate
from optgrad._base import GradientTransformationExtraArgs
from optgrad._typing import MaskOrFn, ScalarOrSchedule
from optgrad.optimizers._checks import check_weight_decay
from optgrad.transforms._combining import chain
from optgrad.transforms._novograd import scale_by_novograd
from optgrad.transforms._scaling import scale_by_learning_rate


def novograd(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.25,
    eps: float = 1e-6,
    eps_root: float = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    mask: MaskOrFn | None = None,
) -> GradientTransformationExtraArgs:
    r"""NovoGrad: momentum on gradients divided by a per-layer second moment.

    Each leaf :math:`\ell` of the params is a layer. With its gradient
    :math:`g^\ell_t` at step :math:`t = 1, 2, \dots` and params
    :math:`\theta^\ell_t`:

    .. math::

        v^\ell_1 = \|g^\ell_1\|^2, \quad
        v^\ell_t = \beta_2 v^\ell_{t-1} + (1 - \beta_2) \|g^\ell_t\|^2, \\
        d^\ell_t = \frac{g^\ell_t}{\sqrt{v^\ell_t + \epsilon_{root}} + \epsilon}
            + \lambda \theta^\ell_t, \quad
        m^\ell_1 = d^\ell_1, \quad
        m^\ell_t = \beta_1 m^\ell_{t-1} + d^\ell_t, \quad
        u^\ell_t = -\eta_t m^\ell_t.

    The second moment is one scalar per leaf, so the optimizer keeps about
    half the state of Adam.

    Args:
        learning_rate: :math:`\eta_t`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1].
        b2: :math:`\beta_2`, in [0, 1).
        eps: :math:`\epsilon`, added outside the root, >= 0.
        eps_root: :math:`\epsilon_{root}`, added inside the root, >= 0.
        weight_decay: :math:`\lambda`, a scalar >= 0 or a schedule.
        mask: Where to decay, as in ``optgrad.adamw``.

    Returns:
        ``chain(scale_by_novograd(...), scale_by_learning_rate(learning_rate))``.

    Notes:
        ``mask`` and a scheduled ``weight_decay`` are optgrad additions:
        optax 0.2.8 has no ``mask`` here and fails on a schedule. The leaf
        norms come from ``optgrad.tree.norm``, so they neither overflow for
        float16 gradients nor give a NaN gradient at zero, and the second
        moments of 16-bit params are float32 scalars.

    References:
        Ginsburg et al., "Stochastic Gradient Methods with Layer-wise
        Adaptive Moments for Training of Deep Networks", 2019,
        https://arxiv.org/abs/1905.11286
    """
    name = "novograd"
    _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    _validate.check_range(name, "b1", b1, 0.0, 1.0)
    _validate.check_decay(name, "b2", b2)
    for arg, value in (("eps", eps), ("eps_root", eps_root)):
        _validate.check_non_negative(name, arg, value)
    check_weight_decay(name, weight_decay)
    return chain(
        scale_by_novograd(b1, b2, eps, eps_root, weight_decay, mask=mask),
        scale_by_learning_rate(learning_rate),
    )
