"""``fit``: batch, mini-batch and stochastic gradient descent in jitted epochs."""

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optgrad import _messages
from optgrad.training import _steps
from optgrad.training._callbacks import Callback
from optgrad.training._history import History
from optgrad.training._model import model_adapter
from optgrad.training._optional import import_tqdm


def fit(
    loss_fn: Callable[..., Any],
    params: Any,
    optimizer: Any,
    data: Any,
    *,
    batch_size: int | None = None,
    epochs: int,
    key: jax.Array | None,
    validation_data: Any = None,
    metrics: Mapping[str, Callable[..., Any]] | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
    has_aux: bool = False,
    drop_remainder: bool = False,
    shuffle: bool = True,
    eval_batch_size: int | None = None,
) -> tuple[Any, History]:
    """Train ``params`` with ``optimizer`` on ``data`` and record the run.

    Each epoch is one compiled call: a ``lax.scan`` over the batches, with
    the Python loop running once per epoch. The epoch function is compiled
    on the first epoch and reused by the others.

    ``batch_size`` picks the method with one code path. ``None`` is batch
    gradient descent (one step per epoch on all of ``data``, in order), ``1``
    is stochastic gradient descent and ``k`` is mini-batch gradient descent.
    For mini-batches, epoch ``e`` (from 0) visits the examples in the order
    ``jax.random.permutation(jax.random.fold_in(key, e), n)``, so the same
    key gives the same result bit for bit. When ``n`` is not a multiple of
    ``k`` the last ``n % k`` examples of that order form one smaller batch.
    Its step uses the mean loss over exactly those examples, so no padding
    enters the loss or the gradient. Pass ``drop_remainder=True`` to skip
    them instead.

    Args:
        loss_fn: ``loss_fn(params, batch)`` returns the mean loss over the
            batch as a scalar, or ``(loss, aux)`` with ``has_aux=True``.
            ``batch`` has the structure of ``data``. For a Flax NNX module
            the first argument is the module.
        params: A pytree of arrays, or a ``flax.nnx.Module`` whose
            ``nnx.Param`` variables are trained.
        optimizer: A gradient transformation. If its ``update`` accepts them,
            it gets ``value=`` (the loss), ``grad=`` (the gradient) and
            ``value_fn=`` (the loss on the current batch as a function of the
            params), which ``reduce_on_plateau`` and L-BFGS need.
        data: A pytree of arrays sharing a leading example axis, such as
            ``{"x": x, "y": y}``.
        batch_size: Examples per step; see above.
        epochs: The maximum number of passes over ``data``.
        key: A PRNG key for shuffling. It may be ``None`` when nothing is
            shuffled (``batch_size=None`` or ``shuffle=False``).
        validation_data: Data with the structure of ``data``, evaluated after
            every epoch for ``val_loss`` and ``val_<metric>``.
        metrics: Functions ``metric(params, batch) -> scalar`` by name,
            evaluated after every epoch on the training data
            (``train_<name>``) and the validation data (``val_<name>``).
        progress: Show a tqdm bar over the epochs with the training loss
            and the validation values.
        callbacks: ``Callback`` objects such as ``EarlyStopping``.
        has_aux: ``loss_fn`` returns ``(loss, aux)``. Scalar leaves of
            ``aux`` are averaged per epoch into ``train_<name>``; a name
            that is ``loss`` or a metric's name raises ``ValueError``.
        drop_remainder: Skip the last ``n % batch_size`` examples of each
            epoch's order.
        shuffle: Draw a new order each epoch; ``False`` keeps the data order.
        eval_batch_size: Evaluate in chunks of this many examples, to bound
            memory; ``None`` evaluates each data set in one call.

    Returns:
        The trained params (a new module for a Flax NNX model; the one passed
        in is left unchanged) and the ``History``.

    Raises:
        ValueError: For an invalid argument, data leaves with different
            numbers of examples, a ``loss_fn`` that does not return a
            scalar (or a pair, with ``has_aux=True``), or an aux value or
            metric that would be recorded under the name of another series.
        TypeError: For an ``optimizer`` without ``init`` and ``update``, a
            ``key`` that is not a PRNG key, or ``metrics`` that is not a
            mapping.
        ImportError: When ``progress=True`` and tqdm is not installed.

    Notes:
        Evaluation uses the model with ``deterministic=True`` and
        ``use_running_average=True`` set on the submodules that have them,
        so dropout is off and batch normalization uses running statistics.

        On CPU with jax 0.10.2, XLA computes the weight gradient of a
        convolution (``lax.conv_general_dilated``, ``nnx.Conv``) inside a
        ``lax.scan`` tens of times slower than in a single jitted step, so
        convolutional models can train slower here than in a Python loop.
        The built-in image tasks write their convolutions as dense layers on
        patches for this reason (``optgrad.tasks._models``).

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> import optgrad
        >>> from optgrad.training import fit
        >>> x = jnp.linspace(-1.0, 1.0, 100)
        >>> data = {"x": x, "y": 3.0 * x - 1.0}
        >>> def loss_fn(params, batch):
        ...     prediction = params["w"] * batch["x"] + params["b"]
        ...     return jnp.mean((prediction - batch["y"]) ** 2)
        >>> params = {"w": jnp.zeros(()), "b": jnp.zeros(())}
        >>> params, history = fit(loss_fn, params, optgrad.sgd(0.1), data,
        ...                       batch_size=10, epochs=20,
        ...                       key=jax.random.key(0), progress=False)
        >>> history.num_steps
        200
        >>> round(float(params["w"]), 2), round(float(params["b"]), 2)
        (3.0, -1.0)
    """
    _check_positive_int("epochs", epochs)
    if batch_size is not None:
        _check_positive_int("batch_size", batch_size)
    if eval_batch_size is not None:
        _check_positive_int("eval_batch_size", eval_batch_size)
    if metrics is None:
        metrics = {}
    if not isinstance(metrics, Mapping):
        raise TypeError(
            "fit(metrics=...) must map names to functions, such as "
            f"{{'accuracy': accuracy}}, got {type(metrics).__name__}."
        )
    _check_optimizer(optimizer)
    if "loss" in metrics:
        raise ValueError(
            "fit(metrics=...) has a metric named 'loss', which would overwrite the "
            "recorded train_loss and val_loss. Rename the metric."
        )
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(
                "fit(callbacks=...) takes optgrad.training.Callback objects, got "
                f"{type(callback).__name__}."
            )

    data = _as_arrays(data)
    num_examples = _num_examples("data", data)
    if batch_size is not None and batch_size > num_examples:
        raise ValueError(
            f"fit(batch_size={batch_size}) exceeds the {num_examples} examples in "
            "data. Pass a smaller batch_size, or None for full-batch descent."
        )
    plan = _steps.plan_batches(num_examples, batch_size, drop_remainder, shuffle)
    if plan.shuffle:
        _check_key(key)
    if validation_data is not None:
        validation_data = _as_arrays(validation_data)
        _check_same_structure(data, validation_data)
        num_validation = _num_examples("validation_data", validation_data)

    adapter = model_adapter(params)
    trainable, rest = adapter.split(params)
    opt_state = optimizer.init(trainable)
    step = _steps.make_step(
        loss_fn,
        optimizer,
        adapter,
        has_aux=has_aux,
        keywords=_steps.update_keywords(optimizer),
        metric_names=tuple(metrics),
    )
    run_epoch = jax.jit(_steps.make_epoch(step, plan))

    def evaluation_loss(model, batch):
        output = loss_fn(model, batch)
        return output[0] if has_aux else output

    evaluate_train = None
    if metrics:
        evaluate_train = jax.jit(
            _steps.make_evaluator(metrics, adapter, num_examples, eval_batch_size)
        )
    evaluate_validation = None
    if validation_data is not None:
        functions = {"loss": evaluation_loss, **metrics}
        evaluate_validation = jax.jit(
            _steps.make_evaluator(functions, adapter, num_validation, eval_batch_size)
        )

    weights = np.asarray(plan.batch_sizes, np.float64)
    history = History()
    for callback in callbacks:
        callback.on_train_begin(params, history)
    bar = _ProgressBar(epochs) if progress else None
    carry = (trainable, rest, opt_state)
    try:
        for epoch in range(epochs):
            start = time.perf_counter()
            epoch_key = jax.random.fold_in(key, epoch) if plan.shuffle else None
            carry, records = run_epoch(carry, data, epoch_key)
            records = jax.device_get(records)

            values = {"train_loss": _weighted_mean(records["loss"], weights)}
            for name, series in records["aux"].items():
                values[f"train_{name}"] = _weighted_mean(series, weights)
            if evaluate_train is not None:
                for name, value in evaluate_train(carry[0], carry[1], data).items():
                    values[f"train_{name}"] = float(value)
            if evaluate_validation is not None:
                measured = evaluate_validation(carry[0], carry[1], validation_data)
                for name, value in measured.items():
                    values[f"val_{name}"] = float(value)
            history.append_epoch(
                records["loss"],
                records["grad_norm"],
                records["update_norm"],
                values,
                time.perf_counter() - start,
            )
            if bar is not None:
                bar.update(values)

            if callbacks:
                current = adapter.merge(carry[0], carry[1])
                stop = [c.on_epoch_end(epoch, current, history) for c in callbacks]
                if any(stop):
                    break
    finally:
        if bar is not None:
            bar.close()

    result = adapter.merge(carry[0], carry[1])
    for callback in callbacks:
        replacement = callback.on_train_end(result, history)
        if replacement is not None:
            result = replacement
    return result, history


def _check_optimizer(optimizer: Any) -> None:
    init = getattr(optimizer, "init", None)
    update = getattr(optimizer, "update", None)
    if not (callable(init) and callable(update)):
        raise TypeError(_messages.not_a_transformation("fit(optimizer=...)", optimizer))


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"fit({name}=...) must be an integer, got {type(value).__name__} {value!r}."
        )
    if value < 1:
        raise ValueError(f"fit({name}={value!r}) must be >= 1.")


def _check_key(key: Any) -> None:
    if key is None:
        raise ValueError(
            "fit(key=None) cannot shuffle the mini-batches. Pass "
            "key=jax.random.key(0), say, or shuffle=False."
        )
    if not isinstance(key, jax.Array):
        raise TypeError(
            f"fit(key=...) must be a PRNG key such as jax.random.key(0), got "
            f"{type(key).__name__} {key!r}."
        )
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    raw = key.dtype == jnp.uint32 and key.shape == (2,)
    if not (typed and key.shape == ()) and not raw:
        raise TypeError(
            "fit(key=...) must be one PRNG key such as jax.random.key(0), got an "
            f"array of dtype {key.dtype} and shape {key.shape}."
        )


def _as_arrays(data: Any) -> Any:
    return jax.tree.map(jnp.asarray, data)


def _num_examples(name: str, data: Any) -> int:
    """Return the shared leading size of the leaves of ``data``."""
    leaves = jax.tree_util.tree_flatten_with_path(data)[0]
    if not leaves:
        raise ValueError(f"fit({name}=...) has no arrays; pass a pytree of arrays.")
    sizes = {}
    for path, leaf in leaves:
        where = jax.tree_util.keystr(path) or "<root>"
        if leaf.ndim == 0:
            raise ValueError(
                f"fit({name}=...) leaf {where} is a scalar; every leaf needs a "
                "leading example axis."
            )
        sizes[where] = leaf.shape[0]
    if len(set(sizes.values())) > 1:
        listing = ", ".join(f"{where}: {size}" for where, size in sizes.items())
        raise ValueError(
            f"fit({name}=...) leaves have different numbers of examples along "
            f"axis 0 ({listing}); every leaf needs the same leading size."
        )
    num_examples = next(iter(sizes.values()))
    if num_examples == 0:
        raise ValueError(f"fit({name}=...) has no examples (leading size 0).")
    return num_examples


def _check_same_structure(data: Any, validation_data: Any) -> None:
    expected = jax.tree.structure(data)
    actual = jax.tree.structure(validation_data)
    if expected != actual:
        raise ValueError(
            "fit(validation_data=...) must have the structure of data: expected "
            f"{expected}, got {actual}."
        )


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    values = np.asarray(values, np.float64)
    return float(np.sum(values * weights) / np.sum(weights))


class _ProgressBar:
    """A tqdm bar over epochs showing the latest loss and validation values."""

    def __init__(self, epochs: int):
        tqdm = import_tqdm("fit(progress=True)")
        self.bar = tqdm(total=epochs, unit="epoch", dynamic_ncols=True)

    def update(self, values: dict[str, float]) -> None:
        shown = {
            name.removeprefix("train_"): f"{value:.4g}"
            for name, value in values.items()
            if name == "train_loss" or name.startswith("val_")
        }
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def evaluate(
    functions: Mapping[str, Callable[..., Any]],
    params: Any,
    data: Any,
    *,
    batch_size: int | None = None,
) -> dict[str, float]:
    """Evaluate functions of the params on data, with dropout off.

    Args:
        functions: ``fn(params, batch) -> scalar`` by name, such as a loss
            and metrics; each returns the mean over the batch.
        params: A pytree of arrays or a Flax NNX module.
        data: A pytree of arrays sharing a leading example axis.
        batch_size: Evaluate in chunks of this many examples and combine
            the chunk means weighted by size; ``None`` evaluates all at once.

    Returns:
        The value of each function, as Python floats.
    """
    if not isinstance(functions, Mapping):
        raise TypeError(
            "evaluate(functions=...) must map names to functions, got "
            f"{type(functions).__name__}."
        )
    if batch_size is not None:
        _check_positive_int("batch_size", batch_size)
    data = _as_arrays(data)
    num_examples = _num_examples("data", data)
    adapter = model_adapter(params)
    trainable, rest = adapter.split(params)
    evaluator = jax.jit(
        _steps.make_evaluator(functions, adapter, num_examples, batch_size)
    )
    return {
        name: float(value) for name, value in evaluator(trainable, rest, data).items()
    }
