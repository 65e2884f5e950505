"""Error messages used in more than one place."""

import reprlib
from typing import Any


def missing_params(call: str) -> str:
    """Return the message for a transform whose ``update`` needs the params."""
    return (
        f"{call} needs the current params, but update was called without them. "
        "Call update(updates, state, params)."
    )


def not_a_transformation(where: str, value: Any) -> str:
    """Return the message for ``value`` passed where a transformation belongs.

    Args:
        where: What received ``value``, such as ``"chain(...) argument 0"``.
        value: The object that was passed.
    """
    name = getattr(value, "__name__", None) if callable(value) else None
    described = name if name is not None else reprlib.repr(value)
    message = (
        f"{where} is {type(value).__name__} {described}, not a gradient transformation."
    )
    if callable(value):
        return (
            message + " Call the factory first: optgrad.adam(1e-3), not optgrad.adam."
        )
    return message + " Pass one such as optgrad.adam(1e-3)."
