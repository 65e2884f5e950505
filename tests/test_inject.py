"""inject_hyperparams: hyperparameters in the state, schedules, dtypes, masks."""

import equinox_like
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
import problems
import pytest
from helpers import reference_mode, tree_allclose

import optgrad


def _run(library, opt, params, steps):
    """Run ``steps`` jitted steps; return the params and learning rate per step."""

    def step(carry, _):
        params, state = carry
        grads = problems.grad(params)
        updates, state = opt.update(grads, state, params)
        params = library.apply_updates(params, updates)
        return (params, state), (params, state.hyperparams["learning_rate"])

    @jax.jit
    def run(params):
        return jax.lax.scan(step, (params, opt.init(params)), None, steps)

    (_, final_state), trajectory = run(params)
    return final_state, trajectory


PARITY_CASES = [
    (
        "adam",
        lambda lib: lib.warmup_cosine_decay_schedule(0.0, 0.05, 10, 60, 1e-3),
        {"b1": 0.8, "b2": 0.99},
    ),
    (
        "adam",
        lambda lib: lib.piecewise_constant_schedule(0.02, {20: 0.5, 40: 0.1}),
        {"nesterov": True},
    ),
    (
        "sgd",
        lambda lib: lib.exponential_decay(0.01, 15, 0.5),
        {"momentum": 0.9},
    ),
]


@pytest.mark.parametrize(
    ("name", "schedule", "kwargs"),
    PARITY_CASES,
    ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(PARITY_CASES)],
)
def test_matches_optax_with_schedule(name, schedule, kwargs):
    params = problems.initial_params()
    with reference_mode():
        wrapped = optax.inject_hyperparams(getattr(optax, name))
        opt = wrapped(learning_rate=schedule(optax), **kwargs)
        expected_state, (expected_params, expected_lr) = _run(optax, opt, params, 60)
    opt = optgrad.inject_hyperparams(getattr(optgrad, name))(
        learning_rate=schedule(optgrad), **kwargs
    )
    state, (actual_params, actual_lr) = _run(optgrad, opt, params, 60)

    np.testing.assert_allclose(actual_lr, expected_lr, rtol=1e-6, atol=1e-9)
    # The same tolerance as the optimizer catalogue's parity test, relative
    # to each leaf's largest magnitude.
    for actual, expected in zip(
        jax.tree.leaves(actual_params), jax.tree.leaves(expected_params), strict=True
    ):
        scale = np.max(np.abs(expected))
        np.testing.assert_allclose(actual, expected, rtol=0, atol=2e-4 * scale)
    assert int(state.count) == 60
    assert sorted(state.hyperparams) == sorted(expected_state.hyperparams)


def test_learning_rate_changes_without_retracing():
    opt = optgrad.inject_hyperparams(optgrad.sgd)(learning_rate=0.1)
    params = {"w": jnp.array([1.0, -2.0])}
    state = opt.init(params)
    traces = []

    @jax.jit
    def step(params, state):
        traces.append(None)  # Runs once per trace, not per call.
        grads = jax.tree.map(jnp.ones_like, params)
        updates, state = opt.update(grads, state, params)
        return optgrad.apply_updates(params, updates), state

    params, state = step(params, state)
    np.testing.assert_allclose(params["w"], [0.9, -2.1])

    state.hyperparams["learning_rate"] = jnp.float32(0.5)
    params, state = step(params, state)
    np.testing.assert_allclose(params["w"], [0.4, -2.6])

    state = optgrad.tree.set(state, learning_rate=jnp.float32(0.0))
    params, state = step(params, state)
    np.testing.assert_allclose(params["w"], [0.4, -2.6])

    assert len(traces) == 1
    assert int(state.count) == 3


def test_scheduled_value_is_stored_each_step():
    schedule = optgrad.linear_schedule(1.0, 0.0, 4)
    opt = optgrad.inject_hyperparams(optgrad.sgd)(learning_rate=schedule)
    params = jnp.zeros(2)
    state = opt.init(params)
    assert float(state.hyperparams["learning_rate"]) == 1.0
    used = []
    for _ in range(5):
        updates, state = opt.update(jnp.ones(2), state, params)
        used.append(float(-updates[0]))
        # The stored value is the one this update used.
        assert float(state.hyperparams["learning_rate"]) == used[-1]
    np.testing.assert_allclose(used, [1.0, 0.75, 0.5, 0.25, 0.0])
    assert int(state.hyperparams_states["learning_rate"].count) == 5


def test_writing_a_scheduled_value_has_no_effect():
    opt = optgrad.inject_hyperparams(optgrad.sgd)(
        learning_rate=optgrad.constant_schedule(0.5)
    )
    state = opt.init(jnp.zeros(1))
    state.hyperparams["learning_rate"] = jnp.float32(100.0)
    updates, _ = opt.update(jnp.ones(1), state)
    np.testing.assert_allclose(updates, [-0.5])


def _adamw_like(
    learning_rate, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-4, mask=None
):
    # TODO: use optgrad.adamw once it lands; this is the same chain.
    return optgrad.chain(
        optgrad.scale_by_adam(b1, b2, eps),
        optgrad.add_decayed_weights(weight_decay, mask),
        optgrad.scale_by_learning_rate(learning_rate),
    )


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_hyperparams_stay_float32_for_16bit_params(dtype):
    params = problems.initial_params(dtype)
    opt = optgrad.inject_hyperparams(_adamw_like)(learning_rate=1e-3)
    state = opt.init(params)
    for name, value in state.hyperparams.items():
        assert value.dtype == jnp.float32, name
    # In bfloat16, 0.999 rounds to 1.0 and the second moment never decays.
    assert state.hyperparams["b2"] == np.float32(0.999)

    grads = problems.grad(params)
    updates, state = jax.jit(opt.update)(grads, state, params)
    for name, value in state.hyperparams.items():
        assert value.dtype == jnp.float32, name

    # The same step on float32 copies of the same values.
    params32 = optgrad.tree.cast(params, jnp.float32)
    grads32 = optgrad.tree.cast(grads, jnp.float32)
    reference, _ = opt.update(grads32, opt.init(params32), params32)
    tree_allclose(updates, optgrad.tree.cast(reference, dtype))


def test_adamw_on_bfloat16_stays_finite():
    params = problems.initial_params(jnp.bfloat16)
    opt = optgrad.inject_hyperparams(_adamw_like)(learning_rate=1e-2)
    _, (trajectory, _) = _run(optgrad, opt, params, 30)
    for leaf in jax.tree.leaves(trajectory):
        assert np.all(np.isfinite(np.asarray(leaf, np.float32)))


def test_hyperparam_dtype_is_used():
    opt = optgrad.inject_hyperparams(optgrad.sgd, hyperparam_dtype=jnp.bfloat16)(
        learning_rate=0.1
    )
    state = opt.init(jnp.zeros(2, jnp.float32))
    assert state.hyperparams["learning_rate"].dtype == jnp.bfloat16


def test_bfloat16_hyperparam_dtype_rejected_by_adam():
    opt = optgrad.inject_hyperparams(optgrad.adam, hyperparam_dtype=jnp.bfloat16)(
        learning_rate=0.1
    )
    with pytest.raises(ValueError, match=r"adam\(b2=1.0\) is out of range"):
        opt.init(jnp.zeros(2, jnp.float32))


def test_integer_hyperparams_are_strongly_typed():
    def factory(learning_rate, repeats=2):
        return optgrad.scale(-learning_rate * repeats)

    state = optgrad.inject_hyperparams(factory)(learning_rate=0.5).init(jnp.zeros(1))
    assert state.hyperparams["repeats"].dtype == jnp.int32
    assert not state.hyperparams["repeats"].weak_type


@pytest.mark.parametrize(
    "mask",
    [
        equinox_like.CallableMask(w=True, b=False),
        lambda params: equinox_like.CallableMask(w=True, b=False),
    ],
    ids=["callable_pytree", "function"],
)
def test_mask_is_not_a_schedule(mask):
    opt = optgrad.inject_hyperparams(optgrad.add_decayed_weights)(
        weight_decay=0.5, mask=mask
    )
    params = equinox_like.CallableMask(w=jnp.ones(2), b=jnp.ones(2))
    state = opt.init(params)
    assert list(state.hyperparams) == ["weight_decay"]
    assert state.hyperparams_states == {}
    zeros = jax.tree.map(jnp.zeros_like, params)
    updates, _ = jax.jit(opt.update)(zeros, state, params)
    np.testing.assert_array_equal(updates["w"], [0.5, 0.5])
    np.testing.assert_array_equal(updates["b"], [0.0, 0.0])


def test_mask_of_a_custom_factory_is_passed_through():
    mask = equinox_like.CallableMask(w=False, b=True)
    opt = optgrad.inject_hyperparams(_adamw_like)(
        learning_rate=0.1, weight_decay=1.0, mask=mask
    )
    params = equinox_like.CallableMask(w=jnp.ones(1), b=jnp.ones(1))
    state = opt.init(params)
    assert "mask" not in state.hyperparams
    updates, _ = opt.update(jax.tree.map(jnp.zeros_like, params), state, params)
    np.testing.assert_allclose(updates["w"], [0.0])
    np.testing.assert_allclose(updates["b"], [-0.1])


def test_dtype_argument_is_passed_through():
    opt = optgrad.inject_hyperparams(optgrad.sgd)(
        learning_rate=0.1, momentum=0.9, accumulator_dtype=jnp.float16
    )
    state = opt.init(jnp.zeros(2))
    assert "accumulator_dtype" not in state.hyperparams
    assert state.inner_state[0].trace.dtype == jnp.float16


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("adam", {"learning_rate": optgrad.linear_schedule(0.0, 1e-3, 10)}),
        ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
        # TODO: add ("adafactor", {"learning_rate": 0.1}) once optgrad has
        # adafactor; optax 0.2.8 fails to jit its injected init.
    ],
    ids=["adam", "sgd"],
)
def test_init_works_under_jit(name, kwargs):
    opt = optgrad.inject_hyperparams(getattr(optgrad, name))(**kwargs)
    params = problems.initial_params()
    jitted = jax.jit(opt.init)(params)
    eager = opt.init(params)
    assert jax.tree.structure(jitted) == jax.tree.structure(eager)
    tree_allclose(jitted, eager)


def test_init_under_jit_gives_factory_concrete_values():
    # A factory that branches in Python on a hyperparameter, as optax's
    # adafactor does on its sizes.
    def branching(learning_rate, momentum=0.0):
        if momentum > 0:
            return optgrad.sgd(learning_rate, momentum=momentum)
        return optgrad.sgd(learning_rate)

    opt = optgrad.inject_hyperparams(branching, static_args=())(
        learning_rate=0.1, momentum=0.5
    )
    state = jax.jit(opt.init)(jnp.zeros(3))
    assert isinstance(state.inner_state[0], optgrad.TraceState)


class _LossScaledRate:
    """A stateful schedule: the rate shrinks by half whenever the loss rises."""

    def init(self):
        return {"rate": jnp.float32(1.0), "last": jnp.float32(jnp.inf)}

    def update(self, state, value, **extra_args):
        del extra_args
        rate = jnp.where(value > state["last"], 0.5 * state["rate"], state["rate"])
        return {"rate": rate, "last": value}

    def __call__(self, state, **extra_args):
        del extra_args
        return state["rate"]


def test_stateful_schedule_receives_extra_args():
    schedule = _LossScaledRate()
    assert isinstance(schedule, optgrad.schedules.StatefulSchedule)
    opt = optgrad.inject_hyperparams(optgrad.sgd)(learning_rate=schedule)
    state = opt.init(jnp.zeros(1))
    rates = []
    for loss in (3.0, 2.0, 2.5, 1.0, 4.0):
        updates, state = opt.update(jnp.ones(1), state, value=jnp.float32(loss))
        rates.append(float(-updates[0]))
    np.testing.assert_allclose(rates, [1.0, 1.0, 1.0, 0.5, 0.5])
    assert float(state.hyperparams_states["learning_rate"]["rate"]) == 0.25


def test_wrapped_schedule():
    wrapped = optgrad.WrappedSchedule(optgrad.linear_schedule(0.0, 1.0, 2))
    state = wrapped.init()
    assert int(state.count) == 0
    state = wrapped.update(state, value=1.0)
    assert int(state.count) == 1
    assert float(wrapped(state)) == 0.5


def test_inject_stateful_hyperparams_is_inject_hyperparams():
    # The suite turns warnings into errors, so this also checks that no
    # DeprecationWarning is emitted.
    opt = optgrad.inject_stateful_hyperparams(optgrad.sgd)(learning_rate=0.5)
    state = opt.init(jnp.zeros(1))
    assert isinstance(state, optgrad.InjectStatefulHyperparamsState)
    updates, _ = opt.update(jnp.ones(1), state)
    np.testing.assert_allclose(updates, [-0.5])


def test_state_round_trips_through_flax_serialization():
    opt = optgrad.inject_hyperparams(optgrad.adam)(
        learning_rate=optgrad.cosine_decay_schedule(0.1, 10)
    )
    params = problems.initial_params()
    state = opt.init(params)
    _, state = opt.update(problems.grad(params), state, params)
    restored = flax.serialization.from_bytes(
        opt.init(params), flax.serialization.to_bytes(state)
    )
    tree_allclose(restored, state)


def test_update_rejects_changed_hyperparam_keys():
    opt = optgrad.inject_hyperparams(optgrad.sgd)(learning_rate=0.1)
    state = opt.init(jnp.zeros(1))
    state.hyperparams["lr"] = jnp.float32(0.1)
    with pytest.raises(ValueError, match=r"must have the keys \['learning_rate'\]"):
        opt.update(jnp.ones(1), state)


def test_unknown_static_args_raise():
    with pytest.raises(ValueError, match=r"names \['lr'\], which sgd does not take"):
        optgrad.inject_hyperparams(optgrad.sgd, static_args="lr")


def test_non_float_hyperparam_dtype_raises():
    with pytest.raises(ValueError, match=r"hyperparam_dtype=.*int32.* floating"):
        optgrad.inject_hyperparams(optgrad.sgd, hyperparam_dtype=jnp.int32)


def test_wrong_arguments_name_the_factory():
    with pytest.raises(TypeError, match=r"^sgd: .*unexpected keyword .*'lr'"):
        optgrad.inject_hyperparams(optgrad.sgd)(learning_rate=0.1, lr=0.1)


def test_non_callable_factory_raises():
    with pytest.raises(TypeError, match=r"inner_factory=...\) must be a factory"):
        optgrad.inject_hyperparams(optgrad.sgd(0.1))


def test_factory_with_keyword_arguments():
    def factory(learning_rate, **options):
        return optgrad.chain(
            optgrad.scale(options["factor"]), optgrad.sgd(learning_rate)
        )

    opt = optgrad.inject_hyperparams(factory)(learning_rate=0.5, factor=2.0)
    state = opt.init(jnp.zeros(1))
    assert sorted(state.hyperparams) == ["factor", "learning_rate"]
    updates, _ = opt.update(jnp.ones(1), state)
    np.testing.assert_allclose(updates, [-1.0])


def test_constructed_inside_jit_with_traced_value():
    @jax.jit
    def first_update(rate):
        opt = optgrad.inject_hyperparams(optgrad.sgd)(learning_rate=rate)
        updates, _ = opt.update(jnp.ones(2), opt.init(jnp.zeros(2)))
        return updates

    np.testing.assert_allclose(first_update(jnp.float32(0.25)), [-0.25, -0.25])
