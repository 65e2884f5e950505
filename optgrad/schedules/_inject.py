"""Hyperparameters kept in the optimizer state: ``inject_hyperparams``."""

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from optgrad._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)
from optgrad._numerics import safe_increment
from optgrad._typing import OptState, Schedule
from optgrad.tree import promote, real_dtype

ScheduleState = Any


@runtime_checkable
class StatefulSchedule(Protocol):
    """A schedule with a state of its own, advanced once per update.

    ``inject_hyperparams`` calls ``init()`` once, ``schedule(state,
    **extra_args)`` for the value of each step, and ``update(state,
    **extra_args)`` for the next state. ``extra_args`` are the keyword
    arguments passed to the optimizer's ``update``, such as ``value=loss``.
    """

    def init(self) -> ScheduleState: ...

    def update(self, state: ScheduleState, **extra_args: Any) -> ScheduleState: ...

    def __call__(
        self, state: ScheduleState, **extra_args: Any
    ) -> jax.typing.ArrayLike: ...


class WrappedScheduleState(NamedTuple):
    """State of ``WrappedSchedule``."""

    count: jax.Array  # int32 scalar: the number of updates so far.


class WrappedSchedule:
    """A ``StatefulSchedule`` that calls a plain schedule with its update count.

    Args:
        schedule_fn: A function of the integer step.
    """

    def __init__(self, schedule_fn: Schedule):
        self.schedule_fn = schedule_fn

    def init(self) -> WrappedScheduleState:
        """Return the state of step 0."""
        return WrappedScheduleState(count=jnp.zeros([], jnp.int32))

    def update(
        self, state: WrappedScheduleState, **extra_args: Any
    ) -> WrappedScheduleState:
        """Return the state of the next step."""
        del extra_args
        return WrappedScheduleState(count=safe_increment(state.count))

    def __call__(
        self, state: WrappedScheduleState, **extra_args: Any
    ) -> jax.typing.ArrayLike:
        """Return the schedule's value at the step in ``state``."""
        del extra_args
        return self.schedule_fn(state.count)


class InjectHyperparamsState(NamedTuple):
    """State layout without schedule states.

    ``inject_hyperparams`` returns ``InjectStatefulHyperparamsState``; this
    class exists for code that imports the name.
    """

    count: jax.Array  # int32 scalar: the number of updates so far.
    hyperparams: dict[str, jax.Array]  # The value of each hyperparameter.
    inner_state: OptState  # The state of the wrapped transformation.


class InjectStatefulHyperparamsState(NamedTuple):
    """State of a transformation built by ``inject_hyperparams``."""

    count: jax.Array  # int32 scalar: the number of updates so far.
    # The value of each numeric hyperparameter. For a scheduled one, the value
    # the latest update used (the value of step 0 after init).
    hyperparams: dict[str, jax.Array]
    hyperparams_states: dict[str, ScheduleState]  # One state per schedule.
    inner_state: OptState  # The state of the wrapped transformation.


def _is_mask_argument(name: str) -> bool:
    # A mask, or a function that returns one, is never a schedule, whatever
    # its type: it is called with the params, not with a step.
    return name == "mask" or name.endswith("_mask")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float | np.number | np.ndarray | jax.Array)


def _is_dtype_like(value: Any) -> bool:
    return isinstance(value, type | np.dtype)


def _float_dtype(tree: Any, requested: Any | None) -> Any:
    """Return the dtype floating hyperparameters are stored in.

    ``requested`` when given; otherwise float32, or float64 when a leaf of
    ``tree`` is float64 or complex128.
    """
    if requested is not None:
        return jnp.dtype(requested)
    dtype = jnp.dtype(jnp.float32)
    for leaf in jax.tree.leaves(tree):
        leaf_dtype = getattr(leaf, "dtype", None)
        if leaf_dtype is not None and jnp.issubdtype(leaf_dtype, jnp.inexact):
            dtype = promote(dtype, real_dtype(leaf_dtype))
    return dtype


def _is_extended(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    return dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.extended)


def _canonical(value: Any, float_dtype: Any) -> Any:
    """Return ``value`` as a strongly typed array; floats in ``float_dtype``."""
    if _is_extended(value):
        return value
    array = jnp.asarray(value)
    if jnp.issubdtype(array.dtype, jnp.floating):
        return array.astype(float_dtype)
    # Dropping the weak type of Python ints keeps the state's types, and so
    # the jitted step, the same when a user writes a new value.
    return array.astype(array.dtype)


def _to_host(value: Any) -> Any:
    """Return a concrete array as a NumPy array; leave traced values alone."""
    if _is_extended(value):
        return value
    try:
        return np.asarray(value)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return value


class _Arguments(NamedTuple):
    """The bound arguments of a factory, split by how they are injected."""

    static: dict[str, Any]  # Passed to the factory unchanged.
    numeric: dict[str, Any]  # Kept in ``state.hyperparams``.
    scheduled: dict[str, StatefulSchedule]  # Evaluated at each update.


def _split_arguments(
    factory_name: str,
    signature: inspect.Signature,
    static_args: frozenset[str],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> _Arguments:
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{factory_name}: {error}") from error
    bound.apply_defaults()

    named: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                raise TypeError(
                    f"inject_hyperparams cannot pass the extra positional arguments "
                    f"*{name}={value!r} of {factory_name}; pass them by keyword."
                )
        else:
            named[name] = value

    split = _Arguments({}, {}, {})
    for name, value in named.items():
        if name in static_args or _is_mask_argument(name) or isinstance(value, bool):
            split.static[name] = value
        elif isinstance(value, StatefulSchedule):
            split.scheduled[name] = value
        elif _is_dtype_like(value):
            split.static[name] = value
        elif callable(value):
            split.scheduled[name] = WrappedSchedule(value)
        elif _is_number(value):
            split.numeric[name] = value
        else:
            split.static[name] = value
    return split


def _check_hyperparam_names(state_names: Iterable[str], expected: Any) -> None:
    state_names = sorted(state_names)
    expected = sorted(expected)
    if state_names != expected:
        raise ValueError(
            "inject_hyperparams.update: state.hyperparams must have the keys "
            f"{expected}, got {state_names}. Change the values of existing keys; "
            "adding or removing keys changes the optimizer."
        )


def inject_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: Any | None = None,
) -> Callable[..., GradientTransformationExtraArgs]:
    """Wrap an optimizer factory so that its hyperparameters live in its state.

    The returned function takes the arguments of ``inner_factory``. Each
    numeric argument is stored in ``state.hyperparams`` and read back at
    every update, so a training loop can change it between jitted steps
    without recompiling. Write a strongly typed value of the stored dtype,
    such as ``jnp.float32(1e-4)``: a Python float is weakly typed, so
    ``jax.jit`` compiles the step once more for it. An argument given as a schedule
    (a function of the step) or a ``StatefulSchedule`` is evaluated at every
    update instead, and the value it gave is stored in ``state.hyperparams``;
    writing to those entries has no effect.

    These arguments are passed through unchanged, not stored: booleans,
    dtypes, arguments named ``mask`` or ending in ``_mask`` (a mask is called
    with the params, never with a step), values that are neither numbers nor
    callables (``None``, strings, trees), and the names in ``static_args``.

    Args:
        inner_factory: A function that returns a gradient transformation,
            such as ``optgrad.adam``.
        static_args: A name or names of arguments to pass through unchanged:
            callables that are not schedules, or numbers that decide shapes or
            Python control flow in ``inner_factory`` (which fail when traced).
        hyperparam_dtype: The dtype of floating hyperparameters. By default
            float32, or float64 when a param is float64.

    Returns:
        A function with the arguments of ``inner_factory`` that returns a
        ``GradientTransformationExtraArgs`` whose state is an
        ``InjectStatefulHyperparamsState``.

    Raises:
        TypeError: ``inner_factory`` is not callable.
        ValueError: ``static_args`` names an argument that ``inner_factory``
            does not take, or ``hyperparam_dtype`` is not a floating dtype.

    Notes:
        Differences from optax 0.2.8:

        * Floating hyperparameters are stored in float32 for float16 and
          bfloat16 params; optax stores them in the params' dtype, where
          ``b2=0.999`` becomes 1.0 and an AdamW step on bfloat16 params is
          NaN. Every floating value is cast, also a strongly typed array,
          which optax leaves alone; integers are stored strongly typed.
        * A mask argument is passed through; optax calls a mask function as
          a schedule with the step count, which silently turns weight decay
          off. A dtype such as ``jnp.float32`` is passed through too; optax
          calls it as a schedule.
        * ``init`` builds the inner transformation from concrete NumPy
          values, so ``jax.jit(opt.init)`` works for factories that branch
          on a hyperparameter in Python (optax's ``adafactor``, say). Under
          ``jax.jit(opt.update)`` the hyperparameters are traced, so an
          argument that must be concrete there belongs in ``static_args``.
        * ``update`` raises if keys were added to or removed from
          ``state.hyperparams``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> import optgrad
        >>> opt = optgrad.inject_hyperparams(optgrad.sgd)(learning_rate=0.1)
        >>> params = jnp.ones(2)
        >>> state = opt.init(params)
        >>> state.hyperparams["learning_rate"] = jnp.float32(0.5)
        >>> updates, state = jax.jit(opt.update)(params, state, params)
        >>> updates.tolist()
        [-0.5, -0.5]
    """
    if not callable(inner_factory):
        raise TypeError(
            "inject_hyperparams(inner_factory=...) must be a factory such as "
            f"optgrad.adam, got {type(inner_factory).__name__} {inner_factory!r}."
        )
    factory_name = getattr(inner_factory, "__name__", repr(inner_factory))
    static_names = frozenset(
        [static_args] if isinstance(static_args, str) else static_args
    )
    signature = inspect.signature(inner_factory)
    unknown = sorted(static_names - signature.parameters.keys())
    if unknown:
        raise ValueError(
            f"inject_hyperparams(static_args=...) names {unknown}, which "
            f"{factory_name} does not take. Its arguments are "
            f"{list(signature.parameters)}."
        )
    if hyperparam_dtype is not None:
        try:
            valid = jnp.issubdtype(jnp.dtype(hyperparam_dtype), jnp.floating)
        except TypeError:
            valid = False
        if not valid:
            raise ValueError(
                f"inject_hyperparams(hyperparam_dtype={hyperparam_dtype!r}) must be "
                "a floating-point dtype such as jnp.float32."
            )
    positional_only = [
        name
        for name, parameter in signature.parameters.items()
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY
    ]

    def build(values: dict[str, Any]) -> GradientTransformationExtraArgs:
        keywords = dict(values)
        positional = [keywords.pop(name) for name in positional_only]
        return with_extra_args_support(inner_factory(*positional, **keywords))

    @functools.wraps(inner_factory)
    def wrapped_factory(*args: Any, **kwargs: Any) -> GradientTransformationExtraArgs:
        split = _split_arguments(factory_name, signature, static_names, args, kwargs)

        def init_fn(params):
            dtype = _float_dtype(params, hyperparam_dtype)
            # Evaluated eagerly even under jax.jit, so that the inner factory
            # receives concrete values and may branch on them in Python.
            with jax.ensure_compile_time_eval():
                schedule_states = {k: s.init() for k, s in split.scheduled.items()}
                values = {k: _canonical(v, dtype) for k, v in split.numeric.items()}
                for name, schedule in split.scheduled.items():
                    values[name] = _canonical(schedule(schedule_states[name]), dtype)
            host_values = {k: _to_host(v) for k, v in values.items()}
            inner = build({**split.static, **host_values})
            return InjectStatefulHyperparamsState(
                count=jnp.zeros([], jnp.int32),
                hyperparams=values,
                hyperparams_states=schedule_states,
                inner_state=inner.init(params),
            )

        def update_fn(updates, state, params=None, **extra_args):
            dtype = _float_dtype(
                updates if params is None else params, hyperparam_dtype
            )
            _check_hyperparam_names(
                state.hyperparams, [*split.numeric, *split.scheduled]
            )
            values = {k: _canonical(v, dtype) for k, v in state.hyperparams.items()}
            for name, schedule in split.scheduled.items():
                value = schedule(state.hyperparams_states[name], **extra_args)
                values[name] = _canonical(value, dtype)
            schedule_states = {
                name: schedule.update(state.hyperparams_states[name], **extra_args)
                for name, schedule in split.scheduled.items()
            }
            inner = build({**split.static, **values})
            updates, inner_state = inner.update(
                updates, state.inner_state, params, **extra_args
            )
            return updates, InjectStatefulHyperparamsState(
                count=safe_increment(state.count),
                hyperparams=values,
                hyperparams_states=schedule_states,
                inner_state=inner_state,
            )

        return GradientTransformationExtraArgs(init_fn, update_fn)

    return wrapped_factory


def inject_stateful_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: Any | None = None,
) -> Callable[..., GradientTransformationExtraArgs]:
    """Wrap an optimizer factory as ``inject_hyperparams`` does.

    ``inject_hyperparams`` accepts ``StatefulSchedule`` arguments itself;
    this name is kept for code written against it.

    Args:
        inner_factory: A function that returns a gradient transformation.
        static_args: Names of arguments to pass through unchanged.
        hyperparam_dtype: The dtype of floating hyperparameters.

    Returns:
        The same as ``inject_hyperparams``.

    Notes:
        optax 0.2.8 emits a ``DeprecationWarning`` here; optgrad does not.
    """
    return inject_hyperparams(inner_factory, static_args, hyperparam_dtype)
