"""Construction-time checks shared by the optimizers."""

from typing import Any

from optgrad import _validate


def check_adam_args(
    call: str,
    learning_rate: Any,
    b1: Any,
    b2: Any,
    eps: Any,
    eps_root: Any = 0.0,
) -> None:
    """Check the arguments that Adam-like optimizers share.

    ``b1`` and ``b2`` must be in [0, 1) because the bias corrections divide by
    ``1 - b**t``; ``eps`` and ``eps_root`` must be >= 0.
    """
    _validate.check_scalar_or_schedule(call, "learning_rate", learning_rate)
    for arg, value in (("b1", b1), ("b2", b2)):
        _validate.check_decay(call, arg, value)
    for arg, value in (("eps", eps), ("eps_root", eps_root)):
        _validate.check_non_negative(call, arg, value)


def check_weight_decay(call: str, weight_decay: Any) -> None:
    """Check a weight-decay rate: a number >= 0 or a schedule."""
    _validate.check_scalar_or_schedule(call, "weight_decay", weight_decay)
    if not callable(weight_decay):
        _validate.check_non_negative(call, "weight_decay", weight_decay)
