"""Parity with optax and the common contract, over every wrapper transformation."""

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import problems
import pytest
import trajectory
from helpers import reference_mode, tree_allclose

import optgrad


def _by_rank(params):
    return jax.tree.map(lambda x: "adam" if jnp.ndim(x) > 1 else "sgd", params)


def _is_vector(params):
    return jax.tree.map(lambda x: jnp.ndim(x) == 1, params)


def _loss_value(params):
    return {"value": problems.loss(params)}


def _plateau(library):
    # optax keeps reduce_on_plateau in contrib.
    return getattr(library, "contrib", library).reduce_on_plateau


def _monitor(library):
    # optax's monitor state changes structure at the first update, so a
    # lax.scan cannot carry it. test_monitoring.py compares its measurements
    # in a Python loop. Measuring does not change the updates.
    if library is optax:
        return optax.snapshot("max", lambda u: jnp.max(u["embed"]))
    return optgrad.chain(
        optgrad.monitor(
            {
                "norm": optgrad.tree.norm,
                "norm_ema": optgrad.measure_with_ema(optgrad.tree.norm, decay=0.9),
            }
        ),
        optgrad.snapshot("max", lambda u: jnp.max(u["embed"])),
    )


class WrapperCase(NamedTuple):
    """One wrapper configuration, built the same way from optgrad and optax.

    Attributes:
        name: The test id.
        build: Returns the transformation from the library module passed in.
        extra_fn: Returns the extra keyword arguments of ``update``.
        bad_steps: Steps whose gradient gets ``bad_value`` in one element.
        bad_value: The planted value.
        any_structure: The build works for params of any structure (labels
            and masks are functions), so the None-leaf test applies.
        diverges: The planted values reach the params on purpose.
        contract: Run the vmap and dtype checks too. Variants of a wrapper
            checked by another case skip them to keep the suite fast.
    """

    name: str
    build: Callable[[Any], Any]
    extra_fn: Callable[[Any], dict] | None = None
    bad_steps: tuple[int, ...] = ()
    bad_value: float = float("nan")
    any_structure: bool = True
    diverges: bool = False
    contract: bool = True


CASES = [
    WrapperCase(
        "multi_steps",
        lambda lib: lib.MultiSteps(lib.adam(0.05), 3).gradient_transformation(),
    ),
    WrapperCase(
        "multi_steps_schedule_sum",
        lambda lib: lib.MultiSteps(
            lib.sgd(0.002, momentum=0.9),
            every_k_schedule=lambda step: jnp.where(step < 4, 2, 3),
            use_grad_mean=False,
        ).gradient_transformation(),
        contract=False,
    ),
    WrapperCase(
        "multi_steps_skip_not_finite",
        lambda lib: lib.MultiSteps(
            lib.adam(0.05), 2, should_skip_update_fn=lib.skip_not_finite
        ).gradient_transformation(),
        bad_steps=(4, 9, 10, 33),
    ),
    WrapperCase(
        "multi_steps_skip_large",
        lambda lib: lib.MultiSteps(
            lib.adam(0.05),
            2,
            should_skip_update_fn=functools.partial(
                lib.skip_large_updates, max_squared_norm=1e5
            ),
        ).gradient_transformation(),
        bad_steps=(2, 7, 8, 40),
        bad_value=1e4,
        contract=False,
    ),
    WrapperCase(
        "apply_every",
        lambda lib: lib.chain(lib.sgd(0.01, momentum=0.9), lib.apply_every(3)),
    ),
    WrapperCase(
        "apply_if_finite",
        lambda lib: lib.apply_if_finite(lib.adam(0.05), max_consecutive_errors=2),
        bad_steps=(3, 10, 11, 30, 41),
    ),
    WrapperCase(
        "apply_if_finite_inf",
        lambda lib: lib.apply_if_finite(lib.sgd(0.01, momentum=0.9), 1),
        # Two infinite gradients in a row exceed max_consecutive_errors=1, so
        # the second is applied and the params become NaN.
        bad_steps=(5, 20, 21),
        bad_value=float("inf"),
        diverges=True,
        contract=False,
    ),
    WrapperCase(
        "partition",
        lambda lib: lib.partition(
            {"adam": lib.adam(0.05), "sgd": lib.sgd(0.01, momentum=0.9)}, _by_rank
        ),
    ),
    WrapperCase(
        "partition_tree",
        lambda lib: lib.partition(
            {"adam": lib.adam(0.05), "sgd": lib.sgd(0.005)},
            {"dense": {"w": "adam", "b": "sgd"}, "scalar": "sgd", "embed": "adam"},
        ),
        any_structure=False,
        contract=False,
    ),
    WrapperCase(
        "multi_transform",
        lambda lib: lib.multi_transform(
            {"adam": lib.adam(0.05), "sgd": lib.sgd(0.005)},
            {"dense": "adam", "scalar": "sgd", "embed": "sgd"},
        ),
        any_structure=False,
        contract=False,
    ),
    WrapperCase(
        "freeze",
        lambda lib: lib.chain(
            lib.adam(0.05), lib.freeze({"dense": True, "scalar": False, "embed": False})
        ),
        any_structure=False,
    ),
    WrapperCase(
        "selective_transform",
        lambda lib: lib.selective_transform(
            lib.adam(0.05),
            freeze_mask={
                "dense": {"w": False, "b": True},
                "scalar": True,
                "embed": False,
            },
        ),
        any_structure=False,
    ),
    WrapperCase(
        "conditionally_transform",
        lambda lib: lib.chain(
            lib.conditionally_transform(
                lib.scale_by_adam(), lambda step: step % 3 != 0
            ),
            lib.scale(-0.01),
        ),
    ),
    WrapperCase(
        "conditionally_mask",
        lambda lib: lib.conditionally_mask(lib.adam(0.05), lambda step: step % 2 == 0),
    ),
    WrapperCase("flatten", lambda lib: lib.flatten(lib.adam(0.05))),
    WrapperCase(
        "masked_in_flatten",
        lambda lib: lib.flatten(lib.masked(lib.scale(0.0), _is_vector)),
        contract=False,
    ),
    WrapperCase("monitor", lambda lib: lib.chain(lib.adam(0.05), _monitor(lib))),
    WrapperCase(
        "reduce_on_plateau",
        lambda lib: lib.chain(
            lib.adam(0.1),
            _plateau(lib)(
                factor=0.5, patience=2, rtol=0.05, cooldown=2, accumulation_size=2
            ),
        ),
        extra_fn=_loss_value,
    ),
    WrapperCase(
        "track_norms",
        lambda lib: (
            lib.track_norms(lib.adam(0.05)) if lib is optgrad else lib.adam(0.05)
        ),
    ),
]

WRAPPERS = pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
CONTRACT_CASES = [c for c in CASES if c.contract]
CONTRACT = pytest.mark.parametrize(
    "case", CONTRACT_CASES, ids=[c.name for c in CONTRACT_CASES]
)


def _run_case(library, case):
    trajectory_params, _ = trajectory.run(
        library,
        case.build(library),
        60,
        bad_steps=case.bad_steps,
        bad_value=case.bad_value,
        extra_fn=case.extra_fn,
    )
    return trajectory_params


@WRAPPERS
def test_matches_optax_over_60_steps(case):
    with reference_mode():
        expected = _run_case(optax, case)
    actual = _run_case(optgrad, case)
    assert case.diverges != np.all(np.isfinite(np.asarray(actual["embed"][-1])))
    trajectory.assert_close(actual, expected)


def _extra(case, params):
    return case.extra_fn(params) if case.extra_fn else {}


@CONTRACT
def test_vmap_matches_loop(case):
    tx = case.build(optgrad)
    batch = [problems.initial_params(seed=seed) for seed in (3, 4)]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *batch)

    def two_steps(params):
        state = tx.init(params)
        for _ in range(2):
            grads = problems.grad(params)
            updates, state = tx.update(grads, state, params, **_extra(case, params))
            params = optgrad.apply_updates(params, updates)
        return params

    vmapped = jax.jit(jax.vmap(two_steps))(stacked)
    looped = [jax.jit(two_steps)(params) for params in batch]
    expected = jax.tree.map(lambda *xs: jnp.stack(xs), *looped)
    tree_allclose(vmapped, expected, rtol=1e-5, atol=1e-6)


@CONTRACT
def test_bfloat16_with_none_and_empty_leaves(case):
    padding = {"frozen": None, "nothing": {}}
    core = problems.initial_params(jnp.bfloat16)
    if case.any_structure:
        params = {**core, **padding}
    else:
        params, padding = core, {}
    tx = case.build(optgrad)

    @jax.jit
    def step(params, state):
        core = {key: params[key] for key in problems.SHAPES}
        grads = {**problems.grad(core), **padding}
        return tx.update(grads, state, params, **_extra(case, core))

    state = tx.init(params)
    updates, new_state = step(params, state)
    updates, new_state = step(params, new_state)
    if padding:
        assert updates["frozen"] is None
        assert updates["nothing"] == {}
    for u, p in zip(jax.tree.leaves(updates), jax.tree.leaves(params), strict=True):
        assert u.dtype == p.dtype
        assert u.shape == p.shape
        assert np.all(np.isfinite(np.asarray(u, np.float32)))
    old_leaves = jax.tree.leaves(state)
    new_leaves = jax.tree.leaves(new_state)
    assert [x.dtype for x in new_leaves] == [x.dtype for x in old_leaves]


@WRAPPERS
def test_rejects_mismatched_gradients(case):
    tx = case.build(optgrad)
    params = problems.initial_params()
    state = tx.init(params)
    grads = problems.grad(params)
    grads["dense"]["w"] = grads["dense"]["w"].T
    with pytest.raises(ValueError, match=r"\['dense'\]\['w'\].*shape \(3, 4\)"):
        tx.update(grads, state, params, **_extra(case, params))
