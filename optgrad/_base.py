"""The gradient-transformation protocol and its smallest members."""

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from optgrad._typing import OptState, Params, Updates


class TransformInitFn(Protocol):
    """Build the initial optimizer state from the params."""

    def __call__(self, params: Params) -> OptState: ...


class TransformUpdateFn(Protocol):
    """Map incoming updates (usually gradients) to outgoing updates."""

    def __call__(
        self, updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]: ...


class TransformUpdateExtraArgsFn(Protocol):
    """An update function that also accepts keyword arguments such as ``value``."""

    def __call__(
        self,
        updates: Updates,
        state: OptState,
        params: Params | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, OptState]: ...


class GradientTransformation(NamedTuple):
    """A pair of pure functions ``init`` and ``update``.

    ``init(params)`` returns the initial state. ``update(updates, state,
    params=None)`` returns the transformed updates and the next state. Both
    are pure, so they run with or without ``jax.jit`` and under ``jax.vmap``.

    Attributes:
        init: Builds the state from the params.
        update: Transforms updates and advances the state.
    """

    init: TransformInitFn
    update: TransformUpdateFn


class GradientTransformationExtraArgs(GradientTransformation):
    """A gradient transformation whose ``update`` takes keyword arguments.

    Transformations such as ``polyak_sgd`` need the loss value, and line
    searches need a function to evaluate. They receive these as keyword
    arguments of ``update``; ``chain`` forwards them to every member.

    Attributes:
        init: Builds the state from the params.
        update: Transforms updates and advances the state; accepts
            ``**extra_args``.
    """

    update: TransformUpdateExtraArgsFn


class EmptyState(NamedTuple):
    """The state of a transformation that keeps none."""


def init_empty_state(params: Params) -> EmptyState:
    """Return an ``EmptyState`` whatever the params."""
    del params
    return EmptyState()


def identity() -> GradientTransformation:
    """Build a transformation that returns the updates unchanged.

    Useful as the "no-op" member of ``partition`` or as a placeholder in a
    ``chain``.

    Returns:
        A stateless ``GradientTransformation``.
    """

    def update_fn(updates, state, params=None):
        del params
        return updates, state

    return GradientTransformation(init_empty_state, update_fn)


def set_to_zero() -> GradientTransformation:
    """Build a transformation that replaces every update with zeros.

    Applying its output leaves the params unchanged, which freezes them. Pair
    it with ``partition`` to freeze part of a model; the frozen part then
    needs no optimizer state.

    Returns:
        A stateless ``GradientTransformation``.
    """

    def update_fn(updates, state, params=None):
        del params
        return jax.tree.map(jnp.zeros_like, updates), state

    return GradientTransformation(init_empty_state, update_fn)


def stateless(
    f: Callable[[Updates, Params | None], Updates],
) -> GradientTransformation:
    """Build a stateless transformation from a function of whole trees.

    Args:
        f: Called as ``f(updates, params)`` and returns the new updates.
            ``params`` may be ``None``.

    Returns:
        A ``GradientTransformation`` whose state is ``EmptyState()``.
    """

    def update_fn(updates, state, params=None):
        del state
        return f(updates, params), EmptyState()

    return GradientTransformation(init_empty_state, update_fn)


def stateless_with_tree_map(
    f: Callable[[jax.Array, jax.Array | None], jax.Array],
) -> GradientTransformation:
    """Build a stateless transformation from a function of one leaf.

    Args:
        f: Called as ``f(update_leaf, param_leaf)`` for each leaf and returns
            the new update leaf. ``param_leaf`` is ``None`` when ``update`` is
            called without params.

    Returns:
        A ``GradientTransformation`` whose state is ``EmptyState()``.
    """

    def update_fn(updates, state, params=None):
        del state
        if params is None:
            return jax.tree.map(lambda u: f(u, None), updates), EmptyState()
        return jax.tree.map(f, updates, params), EmptyState()

    return GradientTransformation(init_empty_state, update_fn)


def with_extra_args_support(
    tx: GradientTransformation,
) -> GradientTransformationExtraArgs:
    """Wrap ``tx`` so that its ``update`` accepts and ignores extra keywords.

    Args:
        tx: Any gradient transformation.

    Returns:
        ``tx`` itself when it already takes extra arguments, else a wrapper
        whose ``update`` drops them.
    """
    if isinstance(tx, GradientTransformationExtraArgs):
        return tx

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        return tx.update(updates, state, params)

    return GradientTransformationExtraArgs(tx.init, update_fn)
