"""optgrad optimizers inside Flax's optimizer wrappers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from flax.training import train_state

import optgrad


def _regression_data():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(64, 3)), jnp.float32)
    y = x @ jnp.array([[1.0], [-2.0], [0.5]]) + 0.3
    return x, y


class Linear(nnx.Module):
    def __init__(self, rngs):
        self.dense = nnx.Linear(3, 1, rngs=rngs)

    def __call__(self, x):
        return self.dense(x)


@pytest.mark.parametrize(
    "make_tx", [lambda: optgrad.adam(0.05), lambda: optgrad.sgd(0.1, 0.9)]
)
def test_nnx_optimizer_trains(make_tx):
    x, y = _regression_data()
    model = Linear(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, make_tx(), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer):
        def loss_fn(model):
            return jnp.mean((model(x) - y) ** 2)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    first = float(step(model, optimizer))
    for _ in range(200):
        last = float(step(model, optimizer))
    assert last < 1e-3 * first
    np.testing.assert_allclose(
        model.dense.kernel[...].ravel(), [1.0, -2.0, 0.5], atol=1e-2
    )


def test_train_state_trains():
    x, y = _regression_data()
    params = {"w": jnp.zeros((3, 1)), "b": jnp.zeros((1, 1))}

    def apply_fn(params, x):
        return x @ params["w"] + params["b"]

    state = train_state.TrainState.create(
        apply_fn=apply_fn, params=params, tx=optgrad.adam(0.05)
    )

    @jax.jit
    def step(state):
        def loss_fn(params):
            return jnp.mean((state.apply_fn(params, x) - y) ** 2)

        grads = jax.grad(loss_fn)(state.params)
        return state.apply_gradients(grads=grads)

    for _ in range(300):
        state = step(state)
    assert int(state.step) == 300
    np.testing.assert_allclose(state.params["w"].ravel(), [1.0, -2.0, 0.5], atol=1e-2)
    np.testing.assert_allclose(state.params["b"], [[0.3]], atol=1e-2)
