"""Adapters for what ``fit`` trains: a plain pytree of params or a Flax NNX module.

Both kinds are handled through one small interface. ``split`` turns the
user's object into the arrays the optimizer updates (``trainable``) and the
rest of the state that the model carries along (``rest``); ``apply`` calls a
user function on the rebuilt object; ``merge`` rebuilds the object the user
gets back.
"""

import inspect
from collections.abc import Callable
from typing import Any

from optgrad.training._optional import import_optional, is_nnx_module


class PlainParams:
    """A pytree of arrays trained as it is; it carries no other state."""

    def split(self, params: Any) -> tuple[Any, Any]:
        return params, ()

    def merge(self, trainable: Any, rest: Any) -> Any:
        del rest
        return trainable

    def apply(
        self, fn: Callable, trainable: Any, rest: Any, batch: Any, *, training: bool
    ) -> tuple[Any, Any]:
        """Return ``fn(params, batch)`` and the unchanged rest."""
        del training
        return fn(trainable, batch), rest


class NnxModel:
    """A Flax NNX module, trained through ``nnx.split`` and ``nnx.merge``.

    The ``nnx.Param`` variables are trained. Every other variable (batch
    statistics, dropout RNG counters) is carried from step to step as the
    model itself updates it. Evaluation runs on a view of the model with
    ``deterministic=True`` and ``use_running_average=True``, which turns off
    dropout and makes batch normalization use its running statistics.
    """

    def __init__(self, model: Any):
        self.nnx = import_optional("flax.nnx", "flax", "Training a Flax NNX model")
        self.graphdef = self.nnx.split(model)[0]
        # Flax 0.12 merges by reusing the Variable objects held in the state
        # unless copy=True. A reused Variable belongs to the trace that made
        # it, and batch normalization then fails to update its statistics
        # under jax.grad. Earlier releases always make new Variables.
        parameters = inspect.signature(self.nnx.merge).parameters
        self.merge_options = {"copy": True} if "copy" in parameters else {}

    def split(self, model: Any) -> tuple[Any, Any]:
        _, trainable, rest = self.nnx.split(model, self.nnx.Param, ...)
        return trainable, rest

    def merge(self, trainable: Any, rest: Any) -> Any:
        return self.nnx.merge(self.graphdef, trainable, rest, **self.merge_options)

    def apply(
        self, fn: Callable, trainable: Any, rest: Any, batch: Any, *, training: bool
    ) -> tuple[Any, Any]:
        """Return ``fn(model, batch)`` and the model's non-param state after it."""
        model = self.merge(trainable, rest)
        if not training:
            model = _evaluation_view(self.nnx, model)
            return fn(model, batch), rest
        output = fn(model, batch)
        _, _, new_rest = self.nnx.split(model, self.nnx.Param, ...)
        return output, new_rest


def _evaluation_view(nnx: Any, model: Any) -> Any:
    if hasattr(nnx, "view"):
        return nnx.view(
            model,
            deterministic=True,
            use_running_average=True,
            raise_if_not_found=False,
        )
    # Flax releases before nnx.view switch the merged copy in place.
    model.eval()
    return model


def model_adapter(params: Any) -> PlainParams | NnxModel:
    """Return the adapter for a params pytree or a Flax NNX module."""
    if is_nnx_module(params):
        return NnxModel(params)
    return PlainParams()
