"""Checks of the weight-decay arguments that several optimizers share."""

from typing import Any

from optgrad import _validate
from optgrad._typing import ScalarOrSchedule


def check_weight_decay(call: str, name: str, value: ScalarOrSchedule) -> None:
    """Check a weight-decay rate: a number >= 0 or a schedule."""
    _validate.check_scalar_or_schedule(call, name, value)
    if not callable(value):
        _validate.check_non_negative(call, name, value)


def resolve_weight_decay_mask(
    call: str, optax_name: str, optax_value: Any, optax_default: Any, mask: Any
) -> Any:
    """Return the weight-decay mask passed as ``mask`` or under optax's name.

    Every optgrad optimizer with weight decay takes ``mask``. Some also take
    the name optax 0.2.8 uses (``weight_decay_mask``), so code written for
    optax keeps working. The two must not both be set.
    """
    if mask is None:
        return optax_value
    if optax_value is not optax_default:
        raise ValueError(
            f"{call}(...) got both {optax_name}= and mask=, which name the same "
            "weight-decay mask. Pass only one of them."
        )
    return mask
