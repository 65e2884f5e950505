"""Optimizers built on variants of Adam's moments: AMSGrad, Adamax, RAdam,
Yogi and AdaBelief."""

from typing import Any

from optgrad import _validate
from optgrad._base import GradientTransformationExtraArgs
from optgrad._typing import MaskOrFn, ScalarOrSchedule
from optgrad.optimizers._checks import check_adam_args, check_weight_decay
from optgrad.transforms._adam_variants import (
    scale_by_adamax,
    scale_by_amsgrad,
    scale_by_belief,
    scale_by_radam,
    scale_by_yogi,
)
from optgrad.transforms._combining import chain
from optgrad.transforms._scaling import scale_by_learning_rate
from optgrad.transforms._weight_decay import add_decayed_weights


def amsgrad(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any | None = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> GradientTransformationExtraArgs:
    r"""AMSGrad: Adam whose step never grows through a shrinking second moment.

    With gradient :math:`g_t` at step :math:`t = 1, 2, \dots`:

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) |g_t|^2, \\
        \hat v^{max}_t = \max\left(\hat v^{max}_{t-1},
            \frac{v_t}{1 - \beta_2^t}\right), \quad
        u_t = -\eta \frac{m_t / (1 - \beta_1^t)}
            {\sqrt{\hat v^{max}_t + \epsilon_{root}} + \epsilon}.

    ``bias_correction_mu=False`` drops the division of :math:`m_t` and
    ``bias_correction_nu=False`` the division of :math:`v_t`.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, in [0, 1).
        eps: :math:`\epsilon`, added outside the root, >= 0.
        eps_root: :math:`\epsilon_{root}`, added inside the root, >= 0.
        mu_dtype: The dtype of :math:`m`; by default float32 for 16-bit params
            and the param dtype otherwise.
        bias_correction_mu: Divide :math:`m_t` by :math:`1 - \beta_1^t`.
        bias_correction_nu: Divide :math:`v_t` by :math:`1 - \beta_2^t`
            before the maximum.

    Returns:
        ``chain(scale_by_amsgrad(...), scale_by_learning_rate(learning_rate))``.

    Notes:
        Reddi et al. correct neither moment; pass
        ``bias_correction_mu=False, bias_correction_nu=False`` for their
        algorithm. The defaults follow optax 0.2.8. Moments of 16-bit params
        are kept in float32, as in ``optgrad.adam``.

    References:
        Reddi, Kale and Kumar, "On the Convergence of Adam and Beyond", 2018,
        https://openreview.net/forum?id=ryQu7f-RZ
    """
    check_adam_args("amsgrad", learning_rate, b1, b2, eps, eps_root)
    return chain(
        scale_by_amsgrad(
            b1, b2, eps, eps_root, mu_dtype, bias_correction_mu, bias_correction_nu
        ),
        scale_by_learning_rate(learning_rate),
    )


def _check_adamax_args(call: str, learning_rate: Any, b1: Any, b2: Any, eps: Any):
    _validate.check_scalar_or_schedule(call, "learning_rate", learning_rate)
    _validate.check_decay(call, "b1", b1)
    _validate.check_range(call, "b2", b2, 0.0, 1.0)
    _validate.check_non_negative(call, "eps", eps)


def adamax(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> GradientTransformationExtraArgs:
    r"""Adamax: Adam with the second moment replaced by a decayed max norm.

    With gradient :math:`g_t` at step :math:`t = 1, 2, \dots`:

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        s_t = \max(|g_t| + \epsilon, \beta_2 s_{t-1}), \quad
        u_t = -\eta \frac{m_t}{(1 - \beta_1^t)\, s_t}.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, the decay of the running maximum, in [0, 1].
        eps: :math:`\epsilon`, added to :math:`|g_t|`, >= 0.

    Returns:
        ``chain(scale_by_adamax(...), scale_by_learning_rate(learning_rate))``.

    Notes:
        Kingma and Ba define :math:`s_t = \max(|g_t|, \beta_2 s_{t-1})`
        without :math:`\epsilon`. Here, as in optax, :math:`\epsilon` is
        added so that a leaf whose gradients have all been zero does not
        divide 0 by 0. The
        moments of float16 and bfloat16 params are kept in float32, where
        ``eps=1e-8`` is not zero (optax 0.2.8 keeps them in float16, where
        it is, and a zero gradient gives NaN).

    References:
        Kingma and Ba, "Adam: A Method for Stochastic Optimization", 2015,
        section 7.1, https://arxiv.org/abs/1412.6980
    """
    _check_adamax_args("adamax", learning_rate, b1, b2, eps)
    return chain(scale_by_adamax(b1, b2, eps), scale_by_learning_rate(learning_rate))


def adamaxw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: MaskOrFn | None = None,
) -> GradientTransformationExtraArgs:
    r"""AdamaxW: Adamax with decoupled weight decay.

    With :math:`m_t` and :math:`s_t` as in ``optgrad.adamax`` and params
    :math:`\theta_t`:

    .. math::

        u_t = -\eta_t \left( \frac{m_t}{(1 - \beta_1^t)\, s_t}
            + \lambda \theta_t \right).

    Args:
        learning_rate: :math:`\eta_t`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, the decay of the running maximum, in [0, 1].
        eps: Added to :math:`|g_t|`, >= 0.
        weight_decay: :math:`\lambda`, a scalar >= 0 or a schedule.
        mask: Where to decay, as in ``optgrad.adamw``.

    Returns:
        ``chain(scale_by_adamax(...), add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate))``.

    Notes:
        :math:`\lambda` is multiplied by the learning rate, as in
        ``optgrad.adamw``.

    References:
        Loshchilov and Hutter, "Decoupled Weight Decay Regularization", 2019,
        https://arxiv.org/abs/1711.05101
    """
    _check_adamax_args("adamaxw", learning_rate, b1, b2, eps)
    check_weight_decay("adamaxw", weight_decay)
    return chain(
        scale_by_adamax(b1, b2, eps),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


def radam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    threshold: float = 5.0,
    *,
    nesterov: bool = False,
) -> GradientTransformationExtraArgs:
    r"""RAdam: Adam with the variance of its early adaptive steps rectified.

    With :math:`\hat m_t, \hat v_t` as in ``optgrad.adam``:

    .. math::

        \rho_\infty = \frac{2}{1 - \beta_2} - 1, \quad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}, \quad
        r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}
            {(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}}, \\
        u_t = -\eta\, r_t \frac{\hat m_t}{\sqrt{\hat v_t + \epsilon_{root}}
            + \epsilon} \text{ if } \rho_t \ge \text{threshold}, \quad
        u_t = -\eta\, \hat m_t \text{ otherwise}.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, in [0, 1).
        eps: :math:`\epsilon`, added outside the root, >= 0.
        eps_root: :math:`\epsilon_{root}`, added inside the root, >= 0.
        threshold: The :math:`\rho_t` from which the adaptive step is used.
        nesterov: Use the Nesterov first moment of ``optgrad.nadam``.

    Returns:
        ``chain(scale_by_radam(...), scale_by_learning_rate(learning_rate))``.

    Notes:
        Liu et al. switch to the adaptive step once :math:`\rho_t > 4`; the
        default threshold of 5, as in optax, waits a few steps longer. Below
        :math:`\rho_t = 4` the ratio under the root is negative: with a
        threshold under 4, optgrad takes :math:`r_t = 0` there, where optax
        0.2.8 returns NaN. Moments of 16-bit params are kept in float32.

    References:
        Liu et al., "On the Variance of the Adaptive Learning Rate and
        Beyond", 2020, https://arxiv.org/abs/1908.03265
    """
    check_adam_args("radam", learning_rate, b1, b2, eps, eps_root)
    _validate.check_range("radam", "threshold", threshold)
    return chain(
        scale_by_radam(b1, b2, eps, eps_root, threshold, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )


def yogi(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-3,
) -> GradientTransformationExtraArgs:
    r"""Yogi: Adam with an additive second moment that cannot grow too fast.

    With gradient :math:`g_t` at step :math:`t = 1, 2, \dots` and
    :math:`m_0 = v_0 = 10^{-6}`:

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = v_{t-1} - (1 - \beta_2)\,
            \operatorname{sign}(v_{t-1} - |g_t|^2)\, |g_t|^2, \\
        u_t = -\eta \frac{m_t / (1 - \beta_1^t)}
            {\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, in [0, 1).
        eps: :math:`\epsilon`, >= 0. The default ``1e-3`` is larger than
            Adam's.

    Returns:
        ``chain(scale_by_yogi(...), scale_by_learning_rate(learning_rate))``.

    Notes:
        The starting value :math:`10^{-6}` of both moments follows optax;
        ``scale_by_yogi(initial_accumulator_value=...)`` changes it. Moments
        of 16-bit params are kept in float32.

    References:
        Zaheer, Reddi, Sachan, Kale and Kumar, "Adaptive Methods for
        Nonconvex Optimization", 2018,
        https://papers.nips.cc/paper/2018/hash/90365351ccc7437a1309dc64e4db32a3-Abstract.html
    """
    check_adam_args("yogi", learning_rate, b1, b2, eps)
    return chain(scale_by_yogi(b1, b2, eps), scale_by_learning_rate(learning_rate))


def adabelief(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-16,
    eps_root: float = 1e-16,
    *,
    nesterov: bool = False,
) -> GradientTransformationExtraArgs:
    r"""AdaBelief: Adam that scales by the spread of gradients around their mean.

    With gradient :math:`g_t` at step :math:`t = 1, 2, \dots`:

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        s_t = \beta_2 s_{t-1} + (1 - \beta_2) |g_t - m_t|^2
            + \epsilon_{root}, \\
        u_t = -\eta \frac{m_t / (1 - \beta_1^t)}
            {\sqrt{s_t / (1 - \beta_2^t)} + \epsilon}.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, in [0, 1).
        eps: :math:`\epsilon`, added outside the root, >= 0.
        eps_root: :math:`\epsilon_{root}`, added to :math:`s_t` at every
            step, >= 0.
        nesterov: Use the Nesterov first moment of ``optgrad.nadam``.

    Returns:
        ``chain(scale_by_belief(...), scale_by_learning_rate(learning_rate))``.

    Notes:
        The defaults of ``1e-16`` for both epsilons follow optax 0.2.8.
        Moments of float16 and bfloat16 params are kept in float32, where
        ``1e-16`` is not zero (optax 0.2.8 keeps them in the param dtype, and
        ``1e-16`` is zero in float16).

    References:
        Zhuang et al., "AdaBelief Optimizer: Adapting Stepsizes by the Belief
        in Observed Gradients", 2020, https://arxiv.org/abs/2010.07468
    """
    check_adam_args("adabelief", learning_rate, b1, b2, eps, eps_root)
    return chain(
        scale_by_belief(b1, b2, eps, eps_root, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )
