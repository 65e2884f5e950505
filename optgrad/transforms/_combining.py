"""Composing transformations: ``chain`` and ``named_chain``."""

from optgrad._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)


def chain(*transforms: GradientTransformation) -> GradientTransformationExtraArgs:
    """Compose transformations, applying them left to right.

    The state is a tuple of the members' states, in order. The result always
    accepts extra keyword arguments in ``update`` and forwards them to the
    members that take them (``polyak_sgd`` needs ``value=``, for instance).

    Args:
        *transforms: The transformations to apply, first to last.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> tx = optgrad.chain(optgrad.scale(0.5), optgrad.sgd(0.1))
        >>> params = {"w": jnp.ones(3)}
        >>> state = tx.init(params)
        >>> updates, state = tx.update({"w": jnp.full(3, 10.0)}, state, params)
        >>> updates["w"].tolist()
        [-0.5, -0.5, -0.5]
    """
    for index, tx in enumerate(transforms):
        if not isinstance(tx, GradientTransformation):
            raise TypeError(
                f"chain(...) takes gradient transformations, but argument {index} is "
                f"{type(tx).__name__}. Call the factory first: optgrad.adam(1e-3), "
                "not optgrad.adam."
            )
    members = [with_extra_args_support(tx) for tx in transforms]

    def init_fn(params):
        return tuple(tx.init(params) for tx in members)

    def update_fn(updates, state, params=None, **extra_args):
        if not isinstance(state, tuple) or len(state) != len(members):
            raise ValueError(
                f"chain.update: the state must be the tuple of {len(members)} member "
                f"states that chain.init returns, got {_describe(state)}. Pass the "
                "state returned by init (or by the previous update) of this chain."
            )
        new_state = []
        for tx, member_state in zip(members, state, strict=True):
            updates, member_state = tx.update(
                updates, member_state, params, **extra_args
            )
            new_state.append(member_state)
        return updates, tuple(new_state)

    return GradientTransformationExtraArgs(init_fn, update_fn)


def named_chain(
    *transforms: tuple[str, GradientTransformation],
) -> GradientTransformationExtraArgs:
    """Compose transformations as ``chain`` does, with named states.

    The state is a dict from each name to its member's state, which makes the
    state of one member easy to find and to log.

    Args:
        *transforms: ``(name, transformation)`` pairs, applied in order. Names
            must be unique strings.

    Returns:
        A ``GradientTransformationExtraArgs``.
    """
    names = []
    for index, item in enumerate(transforms):
        if (
            not isinstance(item, tuple)
            or len(item) != 2
            or not isinstance(item[0], str)
            or not isinstance(item[1], GradientTransformation)
        ):
            raise TypeError(
                "named_chain(...) takes (name, transformation) pairs with a string "
                f"name, but argument {index} is {_describe(item)}."
            )
        names.append(item[0])
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"named_chain(...) got repeated names: {duplicates}.")
    members = [(name, with_extra_args_support(tx)) for name, tx in transforms]

    def init_fn(params):
        return {name: tx.init(params) for name, tx in members}

    def update_fn(updates, state, params=None, **extra_args):
        if not isinstance(state, dict) or set(state) != set(names):
            raise ValueError(
                f"named_chain.update: the state must be a dict with keys {names}, "
                f"got {_describe(state)}. Pass the state returned by init."
            )
        new_state = {}
        for name, tx in members:
            updates, new_state[name] = tx.update(
                updates, state[name], params, **extra_args
            )
        return updates, new_state

    return GradientTransformationExtraArgs(init_fn, update_fn)


def _describe(value) -> str:
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))}"
    if isinstance(value, tuple):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__}"
