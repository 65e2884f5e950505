"""LAMB, LARS and Fromage: steps sized per leaf by the norm of its params."""

from optgrad import _validate
from optgrad._base import GradientTransformationExtraArgs
from optgrad._typing import MaskOrFn, ScalarOrSchedule
from optgrad.optimizers._weight_decay_args import (
    check_weight_decay,
    resolve_weight_decay_mask,
)
from optgrad.transforms._adam import scale_by_adam
from optgrad.transforms._combining import chain
from optgrad.transforms._layerwise import scale_by_trust_ratio
from optgrad.transforms._masking import masked
from optgrad.transforms._momentum import trace
from optgrad.transforms._scaling import scale_by_learning_rate
from optgrad.transforms._weight_decay import add_decayed_weights, add_scaled_params


def lamb(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-6,
    eps_root: float = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
    mask: MaskOrFn | None = None,
) -> GradientTransformationExtraArgs:
    r"""LAMB: Adam steps with decoupled weight decay, rescaled per leaf.

    For each leaf with params :math:`x_t` and gradient :math:`g_t` at step
    :math:`t = 1, 2, \dots`, with Adam's bias-corrected moments
    :math:`\hat m_t` and :math:`\hat v_t` (see ``optgrad.adam``):

    .. math::

        r_t = \frac{\hat m_t}{\sqrt{\hat v_t + \epsilon_{root}} + \epsilon}
              + \lambda x_t, \quad
        u_t = -\eta \frac{\|x_t\|}{\|r_t\|} r_t,

    where the ratio of norms is 1 when either norm is zero.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        b1: Decay rate of the first moment, in [0, 1).
        b2: Decay rate of the second moment, in [0, 1).
        eps: :math:`\epsilon`, >= 0.
        eps_root: :math:`\epsilon_{root}`, >= 0.
        weight_decay: :math:`\lambda`, >= 0, a scalar or a schedule.
        mask: Which params to decay: a pytree of booleans shaped like the
            params (or a prefix of it), or a function of the params returning
            one. ``None`` decays all.

    Returns:
        ``chain(scale_by_adam(...), add_decayed_weights(weight_decay, mask),
        scale_by_trust_ratio(), scale_by_learning_rate(learning_rate))``.

    Notes:
        The norms are exact for float16 values near 300 and float32 values
        near 1e20 (optax 0.2.8 overflows there), and Adam's moments of 16-bit
        params are kept in float32. The paper clips :math:`\|x_t\|` with a
        scaling function :math:`\phi`, and optgrad, like optax, uses the
        identity.

    References:
        You, Li, Reddi, Hseu, Kumar, Bhojanapalli, Song, Demmel, Keutzer and
        Hsieh, "Large Batch Optimization for Deep Learning: Training BERT in
        76 minutes", 2020, https://arxiv.org/abs/1904.00962
    """
    name = "lamb"
    _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    _validate.check_decay(name, "b1", b1)
    _validate.check_decay(name, "b2", b2)
    _validate.check_non_negative(name, "eps", eps)
    _validate.check_non_negative(name, "eps_root", eps_root)
    check_weight_decay(name, "weight_decay", weight_decay)
    return chain(
        scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root),
        add_decayed_weights(weight_decay=weight_decay, mask=mask),
        scale_by_trust_ratio(),
        scale_by_learning_rate(learning_rate),
    )


def lars(
    learning_rate: ScalarOrSchedule,
    weight_decay: ScalarOrSchedule = 0.0,
    weight_decay_mask: MaskOrFn = True,
    trust_coefficient: float = 0.001,
    eps: float = 0.0,
    trust_ratio_mask: MaskOrFn = True,
    momentum: float = 0.9,
    nesterov: bool = False,
    *,
    mask: MaskOrFn | None = None,
) -> GradientTransformationExtraArgs:
    r"""LARS: momentum SGD with a per-leaf step relative to the param norm.

    For each leaf with params :math:`x_t` and gradient :math:`g_t` at step
    :math:`t = 1, 2, \dots`:

    .. math::

        d_t = g_t + \lambda x_t, \quad
        s_t = -\eta \, c \frac{\|x_t\|}{\|d_t\| + \epsilon} d_t, \quad
        b_t = s_t + \mu b_{t-1}, \quad u_t = b_t,

    where the ratio of norms is replaced by 1 when either norm is zero, and
    :math:`u_t = s_t + \mu b_t` with ``nesterov=True``. The weight decay
    applies where ``mask`` is true, the rescaling where
    ``trust_ratio_mask`` is true (biases and normalization scales are
    usually left out of both).

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        weight_decay: :math:`\lambda`, >= 0, a scalar or a schedule.
        weight_decay_mask: optax's name for ``mask``. ``True`` decays all.
        trust_coefficient: :math:`c`, >= 0.
        eps: :math:`\epsilon`, >= 0.
        trust_ratio_mask: Which params to rescale, in the same forms as
            ``mask``. ``True`` rescales all.
        momentum: :math:`\mu`, in [0, 1].
        nesterov: Use Nesterov momentum.
        mask: Which params to decay: a pytree of booleans shaped like the
            params (or a prefix of it), or a function of the params returning
            one. Pass this or ``weight_decay_mask``, not both.

    Returns:
        ``chain(add_decayed_weights(weight_decay, mask),
        masked(scale_by_trust_ratio(...), trust_ratio_mask),
        scale_by_learning_rate(learning_rate), trace(momentum, nesterov))``.

    Notes:
        The norms are exact for float16 values near 300 and float32 values
        near 1e20, where optax 0.2.8 overflows to a NaN or zero ratio.

    References:
        You, Gitman and Ginsburg, "Large Batch Training of Convolutional
        Networks", 2017, https://arxiv.org/abs/1708.03888
    """
    name = "lars"
    _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    check_weight_decay(name, "weight_decay", weight_decay)
    _validate.check_non_negative(name, "trust_coefficient", trust_coefficient)
    _validate.check_non_negative(name, "eps", eps)
    _validate.check_range(name, "momentum", momentum, 0.0, 1.0)
    decay_mask = resolve_weight_decay_mask(
        name, "weight_decay_mask", weight_decay_mask, True, mask
    )
    return chain(
        add_decayed_weights(weight_decay, mask=decay_mask),
        masked(
            scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps),
            trust_ratio_mask,
        ),
        scale_by_learning_rate(learning_rate),
        trace(decay=momentum, nesterov=nesterov),
    )


def fromage(
    learning_rate: ScalarOrSchedule, min_norm: float = 1e-6
) -> GradientTransformationExtraArgs:
    r"""Fromage: steps of a fixed size relative to each leaf's params.

    For each leaf with params :math:`x_t` and gradient :math:`g_t`, with the
    norms clipped below at ``min_norm``:

    .. math::

        x_{t+1} = \frac{1}{\sqrt{1 + \eta^2}}
                  \left(x_t - \eta \frac{\|x_t\|}{\|g_t\|} g_t\right),

    so :math:`u_t = x_{t+1} - x_t`. The division by
    :math:`\sqrt{1 + \eta^2}` keeps the param norms from growing. The
    learning rate needs little tuning because it is relative: 0.01 moves
    every leaf by about 1% of its norm.

    Args:
        learning_rate: :math:`\eta`, a scalar >= 0 or a schedule.
        min_norm: The smallest norm used for the params and the gradient,
            >= 0.

    Returns:
        ``chain(scale_by_trust_ratio(min_norm),
        scale_by_learning_rate(...), add_decayed_weights(...))`` with the
        rates above (the last adds the negative multiple
        :math:`(1/\sqrt{1 + \eta^2} - 1) x_t`).

    References:
        Bernstein, Vahdat, Yue and Liu, "On the distance between two neural
        networks and the stability of learning", 2020,
        https://arxiv.org/abs/2002.03432
    """
    name = "fromage"
    _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    if not callable(learning_rate):
        _validate.check_non_negative(name, "learning_rate", learning_rate)
    _validate.check_non_negative(name, "min_norm", min_norm)

    def shrink(rate):
        return 1 / (1 + rate**2) ** 0.5

    if callable(learning_rate):

        def step_size(count):
            return shrink(learning_rate(count)) * learning_rate(count)

        def param_decay(count):
            return shrink(learning_rate(count)) - 1

    else:
        step_size = learning_rate * shrink(learning_rate)
        param_decay = shrink(learning_rate) - 1
    return chain(
        scale_by_trust_ratio(min_norm),
        scale_by_learning_rate(step_size),
        add_scaled_params(param_decay, None),
    )
