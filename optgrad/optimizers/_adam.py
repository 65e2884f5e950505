"""Adam and the optimizers that share its two moment estimates."""

from typing import Any

from optgrad._base import GradientTransformationExtraArgs
from optgrad._typing import MaskOrFn, ScalarOrSchedule
from optgrad.optimizers._checks import check_adam_args, check_weight_decay
from optgrad.transforms._adam import scale_by_adam
from optgrad.transforms._combining import chain
from optgrad.transforms._scaling import scale_by_learning_rate
from optgrad.transforms._weight_decay import add_decayed_weights


def adam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Adam: steps scaled by running estimates of the gradient's moments.

    With gradient :math:`g_t` at step :math:`t = 1, 2, \dots`:

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) |g_t|^2, \\
        \hat m_t = \frac{m_t}{1 - \beta_1^t}, \quad
        \hat v_t = \frac{v_t}{1 - \beta_2^t}, \quad
        u_t = -\eta \frac{\hat m_t}{\sqrt{\hat v_t + \epsilon_{root}} + \epsilon}.

    With ``nesterov=True`` (Nadam), :math:`\hat m_t` is replaced by
    :math:`\beta_1 m_t / (1 - \beta_1^{t+1}) + (1 - \beta_1) g_t /
    (1 - \beta_1^t)`.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, in [0, 1).
        eps: :math:`\epsilon`, added outside the root, >= 0.
        eps_root: :math:`\epsilon_{root}`, added inside the root, >= 0. A
            positive value keeps the gradient of the update finite when
            differentiating through the optimizer (meta-learning).
        mu_dtype: The dtype of :math:`m`; by default float32 for 16-bit params
            and the param dtype otherwise.
        nesterov: Use Nesterov momentum (Nadam).

    Returns:
        ``chain(scale_by_adam(...), scale_by_learning_rate(learning_rate))``.

    Notes:
        For float16 and bfloat16 params the arithmetic runs in float32 and
        both moments are stored in float32, and the update is cast back to
        the gradient's dtype. optax 0.2.8 keeps both in the param dtype,
        where ``eps=1e-8`` is 0 in float16 (a zero gradient gives NaN) and
        ``b2=0.999`` rounds to 1.0 in bfloat16 (the second moment never
        decays).

    References:
        Kingma and Ba, "Adam: A Method for Stochastic Optimization", 2015,
        https://arxiv.org/abs/1412.6980

        Dozat, "Incorporating Nesterov Momentum into Adam", 2016,
        https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ
    """
    check_adam_args("adam", learning_rate, b1, b2, eps, eps_root)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )


def adamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: MaskOrFn | None = None,
    *,
    nesterov: bool = False,
) -> GradientTransformationExtraArgs:
    r"""AdamW: Adam with weight decay decoupled from the moment estimates.

    With :math:`m_t, v_t, \hat m_t, \hat v_t` as in ``optgrad.adam`` and
    params :math:`\theta_t`, the update is

    .. math::

        u_t = -\eta_t \left(
            \frac{\hat m_t}{\sqrt{\hat v_t + \epsilon_{root}} + \epsilon}
            + \lambda \theta_t \right).

    The decay :math:`\lambda \theta_t` does not enter the moments, which is
    what separates AdamW from Adam with an L2 penalty in the loss.

    Args:
        learning_rate: :math:`\eta_t`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, in [0, 1).
        eps: :math:`\epsilon`, added outside the root, >= 0.
        eps_root: :math:`\epsilon_{root}`, added inside the root, >= 0.
        mu_dtype: The dtype of :math:`m`; by default float32 for 16-bit params
            and the param dtype otherwise.
        weight_decay: :math:`\lambda`, a scalar >= 0 or a schedule.
        mask: Where to decay: a pytree of booleans with the structure of the
            params (or a prefix of it), or a function of the params that
            returns one. ``None`` decays every leaf. The moments cover every
            leaf either way.
        nesterov: Use Nesterov momentum (NAdamW, see ``optgrad.nadamw``).

    Returns:
        ``chain(scale_by_adam(...), add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate))``.

    Notes:
        :math:`\lambda` is multiplied by the learning rate, as in optax and
        PyTorch; Loshchilov and Hutter multiply it by the schedule
        multiplier only, so their :math:`\lambda` is this one times the base
        learning rate. The 16-bit rules of ``optgrad.adam`` apply.

    References:
        Loshchilov and Hutter, "Decoupled Weight Decay Regularization", 2019,
        https://arxiv.org/abs/1711.05101
    """
    check_adam_args("adamw", learning_rate, b1, b2, eps, eps_root)
    check_weight_decay("adamw", weight_decay)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


def nadam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
) -> GradientTransformationExtraArgs:
    r"""NAdam: Adam with Nesterov momentum.

    ``optgrad.adam`` with the bias-corrected first moment replaced by its
    look-ahead value

    .. math::

        \hat m_t = \frac{\beta_1 m_t}{1 - \beta_1^{t+1}}
            + \frac{(1 - \beta_1) g_t}{1 - \beta_1^t}.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, in [0, 1).
        eps: Added outside the root, >= 0.
        eps_root: Added inside the root, >= 0.
        mu_dtype: The dtype of :math:`m`; by default float32 for 16-bit params
            and the param dtype otherwise.
        nesterov: Keep ``True``; ``False`` gives plain Adam. The argument
            exists because optax 0.2.8 defines ``nadam`` as ``adam`` with
            this keyword preset.

    Returns:
        ``chain(scale_by_adam(..., nesterov=True),
        scale_by_learning_rate(learning_rate))``.

    References:
        Dozat, "Incorporating Nesterov Momentum into Adam", 2016,
        https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ
    """
    check_adam_args("nadam", learning_rate, b1, b2, eps, eps_root)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )


def nadamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: MaskOrFn | None = None,
    *,
    nesterov: bool = True,
) -> GradientTransformationExtraArgs:
    r"""NAdamW: AdamW with Nesterov momentum.

    ``optgrad.adamw`` with the look-ahead first moment of ``optgrad.nadam``:

    .. math::

        u_t = -\eta_t \left( \frac{\beta_1 m_t / (1 - \beta_1^{t+1})
            + (1 - \beta_1) g_t / (1 - \beta_1^t)}
            {\sqrt{\hat v_t + \epsilon_{root}} + \epsilon}
            + \lambda \theta_t \right).

    Args:
        learning_rate: :math:`\eta_t`, a scalar or a schedule.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, in [0, 1).
        eps: :math:`\epsilon`, added outside the root, >= 0.
        eps_root: :math:`\epsilon_{root}`, added inside the root, >= 0.
        mu_dtype: The dtype of :math:`m`; by default float32 for 16-bit params
            and the param dtype otherwise.
        weight_decay: :math:`\lambda`, a scalar >= 0 or a schedule.
        mask: Where to decay, as in ``optgrad.adamw``.
        nesterov: Keep ``True``; ``False`` gives ``adamw``.

    Returns:
        ``chain(scale_by_adam(..., nesterov=True), add_decayed_weights(...),
        scale_by_learning_rate(learning_rate))``.

    References:
        Loshchilov and Hutter, "Decoupled Weight Decay Regularization", 2019,
        https://arxiv.org/abs/1711.05101

        Dozat, "Incorporating Nesterov Momentum into Adam", 2016,
        https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ
    """
    check_adam_args("nadamw", learning_rate, b1, b2, eps, eps_root)
    check_weight_decay("nadamw", weight_decay)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
