"""Every optimizer keeps the sharding of its params, without gathering."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import OPTIMIZER_CASES, case_id, tree_allclose
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import optgrad

SPECS = {"w": P("data", "model"), "b": P("model"), "v": P("data"), "s": P()}


def _mesh(axis_type):
    return jax.make_mesh((4, 2), ("data", "model"), axis_types=(axis_type,) * 2)


def _params(mesh):
    rng = np.random.default_rng(0)
    shapes = {"w": (8, 4), "b": (4,), "v": (16,), "s": ()}
    return {
        name: jax.device_put(
            jnp.asarray(rng.normal(size=shape), jnp.float32),
            NamedSharding(mesh, SPECS[name]),
        )
        for name, shape in shapes.items()
    }


def _loss(params):
    parts = jax.tree.map(lambda p: jnp.sum(0.25 * p * p - jnp.cos(p)), params)
    return sum(jax.tree.leaves(parts))


def _grads(params):
    return jax.grad(_loss)(params)


def _extra(case, params, grads):
    return case.extra_args(_loss, params, grads) if case.extra_args else {}


def _check_sharded_like_params(tree, params):
    for name, spec in SPECS.items():
        assert tree[name].sharding.spec == spec, f"leaf {name!r}: {tree[name].sharding}"


def _first_case_of_each_optimizer():
    seen, cases = set(), []
    for case in OPTIMIZER_CASES:
        if case.name not in seen:
            seen.add(case.name)
            cases.append(case)
    return cases


# Sharding follows from the update's structure, not its hyperparameters, so
# one configuration per optimizer covers it. Explicit mesh axes go through
# the same code and get a few optimizers with different state layouts.
FIRST_CASES = _first_case_of_each_optimizer()
EXPLICIT_CASES = [
    case
    for case in FIRST_CASES
    if case.name in ("sgd", "adam", "adafactor", "lbfgs", "sm3", "adan")
]
MESH_CASES = [(case, AxisType.Auto) for case in FIRST_CASES] + [
    (case, AxisType.Explicit) for case in EXPLICIT_CASES
]


@pytest.mark.parametrize(
    ("case", "axis_type"),
    MESH_CASES,
    ids=[f"{case_id(case)}-{axis.name}" for case, axis in MESH_CASES],
)
def test_update_keeps_sharding(case, axis_type):
    mesh = _mesh(axis_type)
    with jax.set_mesh(mesh):
        params = _params(mesh)
        opt = case.build(optgrad)
        state = opt.init(params)
        for leaf in jax.tree.leaves(state):
            if getattr(leaf, "shape", ()) == params["w"].shape:
                assert leaf.sharding.spec == SPECS["w"]

        def step(params, state):
            grads = _grads(params)
            return opt.update(grads, state, params, **_extra(case, params, grads))

        compiled = jax.jit(step).lower(params, state).compile()
        assert "all-gather" not in compiled.as_text()
        updates, new_state = compiled(params, state)
        _check_sharded_like_params(updates, params)
        assert jax.tree.structure(new_state) == jax.tree.structure(state)
        local = jax.tree.map(np.asarray, (params, state))

    # The same step on one device gives the same numbers.
    expected, _ = jax.jit(step)(*jax.device_put(local, jax.devices()[0]))
    tree_allclose(updates, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", OPTIMIZER_CASES[:4], ids=case_id)
def test_jitted_init_keeps_explicit_sharding(case):
    mesh = _mesh(AxisType.Explicit)
    with jax.set_mesh(mesh):
        params = _params(mesh)
        state = jax.jit(case.build(optgrad).init)(params)
        for leaf in jax.tree.leaves(state):
            if getattr(leaf, "shape", ()) == params["w"].shape:
                assert leaf.sharding.spec == SPECS["w"]
