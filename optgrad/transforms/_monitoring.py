"""Recording measurements of the updates in the optimizer state."""

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    stateless,
    with_extra_args_support,
)
from optgrad._numerics import safe_increment
from optgrad._typing import OptState, Updates
from optgrad.transforms._combining import chain
from optgrad.transforms._momentum import EmaState
from optgrad.transforms._wrapping import check_transformation, zeros_like_output


class SnapshotState(NamedTuple):
    """State of ``snapshot``."""

    measurement: dict[str, Any]  # ``{measure_name: measure(updates)}``.


def snapshot(
    measure_name: str, measure: Callable[[Updates], Any]
) -> GradientTransformation:
    """Store ``measure(updates)`` in the state and pass the updates through.

    Placed inside a ``chain``, it records the updates as they are at that
    point, for instance the gradient norm before clipping.

    Args:
        measure_name: The key of the measurement in ``SnapshotState``.
        measure: A function of the updates that returns a pytree of arrays.
            ``init`` calls it on the params, so it must accept them too.

    Returns:
        A ``GradientTransformation`` with a ``SnapshotState``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> tx = optgrad.chain(
        ...     optgrad.snapshot("raw_norm", optgrad.tree.norm), optgrad.sgd(0.1))
        >>> params = jnp.zeros(2)
        >>> _, state = tx.update(jnp.array([3.0, 4.0]), tx.init(params), params)
        >>> float(state[0].measurement["raw_norm"])
        5.0
    """
    _check_measure("snapshot", "measure", measure)

    def init_fn(params):
        return SnapshotState({measure_name: measure(params)})

    def update_fn(updates, state, params=None):
        del state, params
        return updates, SnapshotState({measure_name: measure(updates)})

    return GradientTransformation(init_fn, update_fn)


def _check_measure(call: str, name: str, measure: Any) -> None:
    if not callable(measure):
        raise TypeError(
            f"{call}({name}=...) must be a function of the updates, got "
            f"{type(measure).__name__}."
        )


class MonitorState(NamedTuple):
    """State of ``monitor``."""

    measurements: dict[str, Any]  # The latest value of each measure, by name.
    measure_states: tuple[OptState, ...]  # Each measure's state, in order.


def monitor(
    measures: Mapping[str, GradientTransformation | Callable[[Updates], Any]],
) -> GradientTransformationExtraArgs:
    """Store several measurements of the updates and pass the updates through.

    A measure is either a function of the updates, as in ``snapshot``, or a
    gradient transformation whose output is the measurement and whose state
    carries what it needs between steps, such as ``measure_with_ema``.

    Args:
        measures: A mapping from names to measures.

    Returns:
        A ``GradientTransformationExtraArgs`` with a ``MonitorState``. Before
        the first ``update`` each measurement is zeros, shaped like the
        measure's output for the params.

    Notes:
        optax 0.2.8 starts with an empty ``measurements`` dict, so the state
        changes structure at the first update and cannot be the carry of a
        ``lax.scan``. ``init`` here evaluates the shape of each measure's
        output on the params (nothing runs), so a measure must accept the
        params in place of the updates.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> tx = optgrad.monitor({
        ...     "norm": optgrad.tree.norm,
        ...     "norm_ema": optgrad.measure_with_ema(optgrad.tree.norm, decay=0.5),
        ... })
        >>> state = tx.init(jnp.zeros(2))
        >>> _, state = tx.update(jnp.array([3.0, 4.0]), state)
        >>> float(state.measurements["norm"]), float(state.measurements["norm_ema"])
        (5.0, 5.0)
    """
    if not isinstance(measures, Mapping):
        raise TypeError(
            "monitor(measures=...) must be a mapping from names to measures, got "
            f"{type(measures).__name__}."
        )
    members = {}
    for name, measure in measures.items():
        if isinstance(measure, GradientTransformation):
            members[name] = with_extra_args_support(measure)
        elif callable(measure):
            members[name] = with_extra_args_support(
                stateless(lambda updates, params, fn=measure: fn(updates))
            )
        else:
            raise TypeError(
                f"monitor(measures=...) maps {name!r} to {type(measure).__name__}, "
                "but a measure must be a function of the updates or a gradient "
                "transformation."
            )
    names = tuple(members)

    def init_fn(params):
        measure_states = tuple(members[name].init(params) for name in names)
        # Zeros shaped like each measurement, so that the state keeps one
        # structure from init on, as a lax.scan or a jitted loop needs.
        measurements = {
            name: zeros_like_output(members[name], params, measure_state, params, {})
            for name, measure_state in zip(names, measure_states, strict=True)
        }
        return MonitorState(measurements, measure_states)

    def update_fn(updates, state, params=None, **extra_args):
        measurements = {}
        measure_states = []
        for name, measure_state in zip(names, state.measure_states, strict=True):
            measurements[name], measure_state = members[name].update(
                updates, measure_state, params, **extra_args
            )
            measure_states.append(measure_state)
        return updates, MonitorState(measurements, tuple(measure_states))

    return GradientTransformationExtraArgs(init_fn, update_fn)


def _average_dtype(value: Any, requested: Any | None) -> Any:
    """Return the dtype that a moving average of ``value`` is kept in."""
    if requested is not None:
        return jnp.dtype(requested)
    dtype = jnp.asarray(value).dtype
    if jnp.issubdtype(dtype, jnp.inexact):
        return tree.compute_dtype(dtype)
    return jnp.dtype(jnp.float32)


def measure_with_ema(
    measure: Callable[[Updates], Any],
    decay: float,
    debias: bool = True,
    accumulator_dtype: Any | None = None,
) -> GradientTransformationExtraArgs:
    r"""Measure the updates and return the measurement's moving average.

    The result is a measure for ``monitor``: its output, the average
    :math:`m \leftarrow (1 - \beta) x + \beta m` of the measurement
    :math:`x` (divided by :math:`1 - \beta^t` when ``debias`` is set), is a
    measurement, not an update.

    Args:
        measure: A function of the updates that returns a pytree of arrays.
            Boolean and integer measurements (whether a step was clipped,
            say) are averaged in float32.
        decay: :math:`\beta`, in [0, 1].
        debias: Divide by :math:`1 - \beta^t`, so that early averages are
            not biased towards zero.
        accumulator_dtype: The dtype of the average. By default it is float32 for
            16-bit, boolean and integer measurements, else their own dtype.

    Returns:
        A ``GradientTransformationExtraArgs`` whose state is
        ``(EmptyState(), EmaState(count, ema))``.

    Notes:
        optax 0.2.8 keeps the average of a boolean measurement in a boolean
        array at ``init``, so the state changes dtype at the first update
        and a jitted loop that carries it fails.
    """
    _check_measure("measure_with_ema", "measure", measure)
    _validate.check_range("measure_with_ema", "decay", decay, 0.0, 1.0)
    _validate.check_dtype("measure_with_ema", "accumulator_dtype", accumulator_dtype)

    def init_fn(params):
        return EmaState(
            count=jnp.zeros([], jnp.int32),
            ema=jax.tree.map(
                lambda x: jnp.zeros(jnp.shape(x), _average_dtype(x, accumulator_dtype)),
                measure(params),
            ),
        )

    def update_fn(measurement, state, params=None):
        del params
        count = safe_increment(state.count)

        def leaf(x, m):
            dtype = tree.compute_dtype(m.dtype)
            beta = jnp.asarray(decay).astype(dtype)
            x = jnp.asarray(x).astype(dtype)
            new_m = (1 - beta) * x + beta * m.astype(dtype)
            out = new_m
            if debias:
                out = new_m / (1 - beta ** count.astype(dtype))
            return out.astype(m.dtype), new_m.astype(m.dtype)

        averages, ema = tree.map_unzip(leaf, 2, measurement, state.ema)
        return averages, EmaState(count=count, ema=ema)

    measure_step = stateless(lambda updates, params: measure(updates))
    return chain(measure_step, GradientTransformation(init_fn, update_fn))


class TrackNormsState(NamedTuple):
    """State of ``track_norms``."""

    gradient_norm: jax.Array  # float32 scalar: 2-norm of the last incoming updates.
    update_norm: jax.Array  # float32 scalar: 2-norm of the last outgoing updates.
    inner_state: OptState  # The wrapped transformation's state.


def track_norms(inner: GradientTransformation) -> GradientTransformationExtraArgs:
    """Run ``inner`` and store the global 2-norms of its input and output.

    Wrap the whole optimizer to log the gradient norm and the update norm
    (learning rate included) of every step from the state, without a
    second pass over the gradients in the training loop. Both norms come
    from ``optgrad.tree.norm``, so they stay finite and accurate for huge
    and tiny values. ``None`` leaves and empty subtrees count as nothing.

    Args:
        inner: The transformation to wrap, usually the whole optimizer.

    Returns:
        A ``GradientTransformationExtraArgs`` with a ``TrackNormsState``.
        Both norms are 0 until the first ``update``. Extra keyword arguments
        go to ``inner``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> opt = optgrad.track_norms(optgrad.sgd(0.1))
        >>> params = jnp.zeros(2)
        >>> _, state = opt.update(jnp.array([3.0, 4.0]), opt.init(params), params)
        >>> float(state.gradient_norm), round(float(state.update_norm), 6)
        (5.0, 0.5)
    """
    check_transformation("track_norms", "inner", inner)
    inner = with_extra_args_support(inner)

    def init_fn(params):
        zero = jnp.zeros([], jnp.float32)
        return TrackNormsState(
            gradient_norm=zero, update_norm=zero, inner_state=inner.init(params)
        )

    def update_fn(updates, state, params=None, **extra_args):
        gradient_norm = tree.norm(updates).astype(jnp.float32)
        updates, inner_state = inner.update(
            updates, state.inner_state, params, **extra_args
        )
        update_norm = tree.norm(updates).astype(jnp.float32)
        return updates, TrackNormsState(
            gradient_norm=gradient_norm,
            update_norm=update_norm,
            inner_state=inner_state,
        )

    return GradientTransformationExtraArgs(init_fn, update_fn)
