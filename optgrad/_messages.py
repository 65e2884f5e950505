"""Error messages used in more than one place."""


def missing_params(call: str) -> str:
    """Return the message for a transform whose ``update`` needs the params."""
    return (
        f"{call} needs the current params, but update was called without them. "
        "Call update(updates, state, params)."
    )
