"""Adam and the optimizers that share its two moment estimates."""

from typing import Any

from optgrad import _validate
from optgrad._base import GradientTransformationExtraArgs
from optgrad._typing import ScalarOrSchedule
from optgrad.transforms._adam import scale_by_adam
from optgrad.transforms._combining import chain
from optgrad.transforms._scaling import scale_by_learning_rate


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
    _validate.check_scalar_or_schedule("adam", "learning_rate", learning_rate)
    for arg, value in (("b1", b1), ("b2", b2)):
        _validate.check_decay("adam", arg, value)
    for arg, value in (("eps", eps), ("eps_root", eps_root)):
        _validate.check_non_negative("adam", arg, value)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )
