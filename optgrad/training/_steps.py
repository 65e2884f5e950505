"""The compiled pieces of ``fit``: one optimizer step, one epoch, one evaluation."""

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from optgrad import tree
from optgrad._update import apply_updates

# The keyword arguments ``fit`` can pass to ``optimizer.update``: the loss at
# the current params, its gradient, and the loss as a function of the params
# on the current batch (L-BFGS line searches evaluate it).
EXTRA_ARG_NAMES = ("value", "grad", "value_fn")


@dataclasses.dataclass(frozen=True)
class BatchPlan:
    """The batches of one epoch: their number, size and order.

    Attributes:
        num_examples: Examples in the data.
        batch_size: Examples per full batch.
        num_full: Number of full batches.
        tail: Size of the last, smaller batch (0 when there is none or when
            it is dropped).
        shuffle: Draw a fresh permutation each epoch.
    """

    num_examples: int
    batch_size: int
    num_full: int
    tail: int
    shuffle: bool

    @property
    def steps(self) -> int:
        """Optimizer steps per epoch."""
        return self.num_full + (1 if self.tail else 0)

    @property
    def batch_sizes(self) -> list[int]:
        """The size of each batch of an epoch, in order."""
        return [self.batch_size] * self.num_full + ([self.tail] if self.tail else [])

    @property
    def is_full_batch(self) -> bool:
        return self.num_full == 1 and self.batch_size == self.num_examples


def plan_batches(
    num_examples: int, batch_size: int | None, drop_remainder: bool, shuffle: bool
) -> BatchPlan:
    """Return the ``BatchPlan`` for ``fit``'s batching arguments."""
    if batch_size is None or batch_size == num_examples:
        return BatchPlan(num_examples, num_examples, 1, 0, False)
    num_full, tail = divmod(num_examples, batch_size)
    return BatchPlan(
        num_examples, batch_size, num_full, 0 if drop_remainder else tail, shuffle
    )


def update_keywords(optimizer: Any) -> tuple[str, ...]:
    """Return which of ``EXTRA_ARG_NAMES`` the optimizer's ``update`` accepts.

    An ``update`` with ``**kwargs`` (``GradientTransformationExtraArgs`` in
    optgrad and optax) gets all of them and ignores those it does not use.
    """
    try:
        parameters = inspect.signature(optimizer.update).parameters.values()
    except (TypeError, ValueError):
        return ()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return EXTRA_ARG_NAMES
    names = {p.name for p in parameters}
    return tuple(name for name in EXTRA_ARG_NAMES if name in names)


def take(data: Any, indices: jax.Array) -> Any:
    """Return the examples at ``indices`` from every leaf of ``data``."""
    return jax.tree.map(lambda x: jnp.take(x, indices, axis=0), data)


def _scalar_leaves(aux: Any, metric_names: tuple[str, ...]) -> dict[str, jax.Array]:
    """Return the scalar leaves of ``aux`` by name; other leaves are dropped.

    Raises:
        ValueError: When a name would be recorded under the name of another
            series: ``loss``, one of ``metric_names``, or another aux leaf.
    """
    if aux is None:
        return {}
    if isinstance(aux, jax.Array | float | int) and jnp.ndim(aux) == 0:
        leaves = [("aux", aux)]
    else:
        leaves = [
            ("/".join(_key_name(key) for key in path), leaf)
            for path, leaf in jax.tree_util.tree_flatten_with_path(aux)[0]
            if jnp.ndim(leaf) == 0
        ]
    scalars = {}
    for name, leaf in leaves:
        if name == "loss":
            raise ValueError(
                "fit(has_aux=True): loss_fn returns an aux value named 'loss', "
                "which would overwrite train_loss, the mean training loss. Rename "
                "the aux value."
            )
        if name in metric_names:
            raise ValueError(
                f"fit(has_aux=True): loss_fn returns an aux value named {name!r}, "
                f"and the metric {name!r} is recorded as train_{name} too. Rename "
                "the aux value or the metric."
            )
        if name in scalars:
            raise ValueError(
                f"fit(has_aux=True): loss_fn returns two aux values named {name!r}. "
                "Give each scalar leaf of aux its own path."
            )
        scalars[name] = jnp.asarray(leaf)
    return scalars


def _key_name(key: Any) -> str:
    for attribute in ("key", "name", "idx"):
        if hasattr(key, attribute):
            return str(getattr(key, attribute))
    return str(key)


def check_scalar(call: str, value: Any) -> jax.Array:
    """Return ``value`` as an array, raising ``ValueError`` if it is not a scalar."""
    try:
        value = jnp.asarray(value)
    except TypeError:
        raise ValueError(
            f"{call} must return a scalar, got {type(value).__name__}."
        ) from None
    if value.shape != ():
        raise ValueError(
            f"{call} must return a scalar, got an array of shape {value.shape}. "
            "Return the mean over the batch."
        )
    return value


def make_step(
    loss_fn: Callable,
    optimizer: Any,
    adapter: Any,
    *,
    has_aux: bool,
    keywords: tuple[str, ...],
    metric_names: tuple[str, ...] = (),
) -> Callable:
    """Build ``step(carry, batch) -> (carry, record)`` for one optimizer update.

    ``carry`` is ``(trainable, rest, opt_state)``. ``record`` contains the loss,
    the gradient and update norms and the scalar auxiliary values, which must
    not be named ``loss`` or like one of ``metric_names``.
    """

    def objective(trainable, rest, batch):
        output, new_rest = adapter.apply(loss_fn, trainable, rest, batch, training=True)
        if has_aux:
            if not isinstance(output, tuple) or len(output) != 2:
                got = (
                    f"an array of shape {output.shape}"
                    if hasattr(output, "shape")
                    else type(output).__name__
                )
                raise ValueError(
                    "fit(has_aux=True) needs loss_fn to return (loss, aux), got "
                    f"{got}. Return a pair or pass has_aux=False."
                )
            loss, aux = output
        elif isinstance(output, tuple):
            raise ValueError(
                f"fit: loss_fn returned a tuple of {len(output)} items, not a "
                "scalar. Pass has_aux=True if it returns (loss, aux)."
            )
        else:
            loss, aux = output, None
        loss = check_scalar("loss_fn", loss)
        return loss, (aux, new_rest)

    value_and_grad = jax.value_and_grad(objective, has_aux=True)

    def step(carry, batch):
        trainable, rest, opt_state = carry
        (loss, (aux, new_rest)), grads = value_and_grad(trainable, rest, batch)
        extra = {
            "value": loss,
            "grad": grads,
            "value_fn": lambda params: objective(params, rest, batch)[0],
        }
        updates, opt_state = optimizer.update(
            grads, opt_state, trainable, **{name: extra[name] for name in keywords}
        )
        record = {
            "loss": loss,
            "grad_norm": tree.norm(grads),
            "update_norm": tree.norm(updates),
            "aux": _scalar_leaves(aux, metric_names),
        }
        trainable = apply_updates(trainable, updates)
        return (trainable, new_rest, opt_state), record

    return step


def make_epoch(step: Callable, plan: BatchPlan) -> Callable:
    """Build ``epoch(carry, data, key) -> (carry, records)``, one scan over batches.

    Full batches run in one ``lax.scan``. A smaller last batch runs as one
    more step on its real examples only, traced with its own static shape, so
    its loss and gradient are the mean over exactly those examples.
    """

    def epoch(carry, data, key):
        if plan.is_full_batch:
            return lax.scan(lambda c, _: step(c, data), carry, None, length=1)

        if plan.shuffle:
            order = jax.random.permutation(key, plan.num_examples)
        else:
            order = jnp.arange(plan.num_examples)
        used = plan.num_full * plan.batch_size
        indices = order[:used].reshape(plan.num_full, plan.batch_size)
        carry, records = lax.scan(lambda c, i: step(c, take(data, i)), carry, indices)
        if plan.tail:
            tail = order[used : used + plan.tail]
            carry, tail_record = step(carry, take(data, tail))
            records = jax.tree.map(
                lambda r, t: jnp.concatenate([r, t[None]]), records, tail_record
            )
        return carry, records

    return epoch


def make_evaluator(
    functions: Mapping[str, Callable],
    adapter: Any,
    num_examples: int,
    batch_size: int | None,
) -> Callable:
    """Build ``evaluate(trainable, rest, data) -> {name: mean}``.

    With ``batch_size`` the data is evaluated in chunks and the chunk values
    are combined weighted by chunk size. That equals the whole-data value
    for functions that are means over examples, which losses and metrics
    usually are.
    """

    def evaluate_batch(trainable, rest, batch):
        values = {}
        for name, fn in functions.items():
            output, _ = adapter.apply(fn, trainable, rest, batch, training=False)
            values[name] = check_scalar(f"the function {name!r}", output)
        return values

    if batch_size is None or batch_size >= num_examples:
        return evaluate_batch

    num_full, tail = divmod(num_examples, batch_size)

    def evaluate_chunked(trainable, rest, data):
        used = num_full * batch_size
        chunks = jax.tree.map(
            lambda x: x[:used].reshape(num_full, batch_size, *x.shape[1:]), data
        )
        per_chunk = lax.map(lambda b: evaluate_batch(trainable, rest, b), chunks)
        totals = jax.tree.map(lambda v: jnp.sum(v) * batch_size, per_chunk)
        if tail:
            last = evaluate_batch(
                trainable, rest, jax.tree.map(lambda x: x[used:], data)
            )
            totals = jax.tree.map(lambda t, v: t + v * tail, totals, last)
        return jax.tree.map(lambda t: t / num_examples, totals)

    return evaluate_chunked
