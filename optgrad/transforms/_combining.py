"""Composing transformations: ``chain``, ``named_chain`` and ``partition``."""

from collections.abc import Callable, Hashable, Mapping
from typing import Any, NamedTuple

import jax

from optgrad import _messages, tree
from optgrad._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)
from optgrad._typing import OptState
from optgrad.transforms._masking import masked, resolve_mask
from optgrad.tree._dtypes import as_jax_arrays


def chain(*transforms: GradientTransformation) -> GradientTransformationExtraArgs:
    """Compose transformations, applying them left to right.

    The state is a tuple of the members' states, in order. The result always
    accepts extra keyword arguments in ``update`` and forwards them to the
    members that take them (``polyak_sgd`` needs ``value=``, for instance).

    Python numbers and NumPy arrays among the params and updates are turned
    into JAX arrays before the first member sees them, so ``{"w": 1.0}``
    works as params. Every named optimizer is a ``chain``.

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
                _messages.not_a_transformation(f"chain(...) argument {index}", tx)
            )
    members = [with_extra_args_support(tx) for tx in transforms]

    def init_fn(params):
        params = as_jax_arrays(params)
        return tuple(tx.init(params) for tx in members)

    def update_fn(updates, state, params=None, **extra_args):
        if not isinstance(state, tuple) or len(state) != len(members):
            raise ValueError(
                f"chain.update: the state must be the tuple of {len(members)} member "
                f"states that chain.init returns, got {_describe(state)}. Pass the "
                "state returned by init (or by the previous update) of this chain."
            )
        updates, params = as_jax_arrays(updates), as_jax_arrays(params)
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


class PartitionState(NamedTuple):
    """State of ``partition``."""

    # Each label's state: the state of its transformation wrapped in
    # ``masked``, which keeps no state for the leaves of other labels.
    inner_states: Mapping[Hashable, OptState]


def _resolve_labels(call: str, param_labels: Any, tree_: Any) -> Any:
    """Return the label tree and check that it fits the structure of ``tree_``."""
    labels = resolve_mask(param_labels, tree_)
    try:
        jax.tree.map(lambda label, subtree: None, labels, tree_)
    except ValueError as error:
        raise ValueError(
            f"{call}: param_labels must have the structure of the params, or be "
            f"a prefix of it.\n  param_labels: {jax.tree.structure(labels)}\n"
            f"  params: {jax.tree.structure(tree_)}"
        ) from error
    return labels


def _check_labels(call: str, labels: Any, known: Mapping[Hashable, Any]) -> None:
    """Raise ``ValueError`` naming the leaves whose label has no transformation."""
    flat, _ = jax.tree_util.tree_flatten_with_path(labels)
    unknown = [
        (tree.leaf_path(path), label) for path, label in flat if label not in known
    ]
    if not unknown:
        return
    listed = ", ".join(f"{path}: {label!r}" for path, label in unknown[:8])
    more = f" and {len(unknown) - 8} more" if len(unknown) > 8 else ""
    noun = "label has" if len(unknown) == 1 else "labels have"
    raise ValueError(
        f"{call}: {len(unknown)} param {noun} no transformation "
        f"({listed}{more}). The transforms are labelled "
        f"{sorted(map(repr, known))}. Add a transformation for each missing "
        "label, or fix the labels."
    )


def partition(
    transforms: Mapping[Hashable, GradientTransformation],
    param_labels: Any | Callable[[Any], Any],
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformationExtraArgs:
    """Apply a different transformation to each labelled group of params.

    Each leaf of the params carries a label, and the transformation under
    that label in ``transforms`` updates it. Each transformation keeps
    state only for its own leaves (through ``masked``). To leave a group
    untouched use ``set_to_zero()``, or ``freeze``.

    Args:
        transforms: A mapping from labels to transformations. Labels that no
            leaf carries are allowed.
        param_labels: A pytree of labels with the structure of the params
            (or a prefix of it, where one label covers a subtree), or a
            function of the params that returns one. ``update`` calls the
            function on the updates.
        mask_compatible_extra_args: Also split the extra keyword arguments
            of ``update`` whose structure matches the params, so that each
            group sees its own part.

    Returns:
        A ``GradientTransformationExtraArgs`` with a ``PartitionState``.

    Raises:
        ValueError: From ``init`` or ``update``, when a leaf's label is not a
            key of ``transforms``. The message names the leaf paths.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> params = {"w": jnp.ones(2), "b": jnp.ones(2)}
        >>> tx = optgrad.partition(
        ...     {"fast": optgrad.sgd(1.0), "slow": optgrad.sgd(0.1)},
        ...     {"w": "fast", "b": "slow"})
        >>> updates, _ = tx.update(params, tx.init(params), params)
        >>> updates["w"].tolist(), updates["b"].tolist()
        ([-1.0, -1.0], [-0.10000000149011612, -0.10000000149011612])
    """
    if not isinstance(transforms, Mapping):
        raise TypeError(
            "partition(transforms=...) must be a mapping from labels to "
            f"transformations, got {type(transforms).__name__}."
        )
    for label, tx in transforms.items():
        if not isinstance(tx, GradientTransformation):
            raise TypeError(
                f"partition(transforms=...) maps label {label!r} to "
                f"{type(tx).__name__}, not to a gradient transformation."
            )
    members = {label: with_extra_args_support(tx) for label, tx in transforms.items()}

    def group_masks(labels):
        return {
            label: jax.tree.map(lambda leaf_label, g=label: leaf_label == g, labels)
            for label in members
        }

    def wrap(label, mask):
        return masked(
            members[label], mask, mask_compatible_extra_args=mask_compatible_extra_args
        )

    def init_fn(params):
        labels = _resolve_labels("partition.init", param_labels, params)
        _check_labels("partition.init", labels, members)
        masks = group_masks(labels)
        return PartitionState(
            {label: wrap(label, masks[label]).init(params) for label in members}
        )

    def update_fn(updates, state, params=None, **extra_args):
        labels = _resolve_labels("partition.update", param_labels, updates)
        _check_labels("partition.update", labels, members)
        masks = group_masks(labels)
        inner_states = {}
        for label in members:
            updates, inner_states[label] = wrap(label, masks[label]).update(
                updates, state.inner_states[label], params, **extra_args
            )
        return updates, PartitionState(inner_states)

    return GradientTransformationExtraArgs(init_fn, update_fn)


# optax 0.2.8 still exports ``partition`` under these older names.
multi_transform = partition
MultiTransformState = PartitionState
