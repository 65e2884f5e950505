"""Tests of optgrad.training.fit on Flax NNX modules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from helpers import tree_allclose

import optgrad
from optgrad.training import EarlyStopping, evaluate, fit


def _data(num_examples=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(num_examples, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -1.0, 2.0, 0.0], np.float32)).astype(np.float32)
    return {"x": jnp.asarray(x), "y": jnp.asarray(y)}


def _loss(model, batch):
    return jnp.mean((model(batch["x"])[:, 0] - batch["y"]) ** 2)


def test_nnx_linear_matches_plain_params(key):
    model = nnx.Linear(4, 1, rngs=nnx.Rngs(0))
    kernel, bias = model.kernel[...], model.bias[...]
    trained, history = fit(
        _loss,
        model,
        optgrad.adam(0.05),
        _data(),
        batch_size=8,
        epochs=3,
        key=key,
        progress=False,
    )

    def plain_loss(params, batch):
        prediction = batch["x"] @ params["kernel"] + params["bias"][None, :]
        return jnp.mean((prediction[:, 0] - batch["y"]) ** 2)

    params, plain_history = fit(
        plain_loss,
        {"kernel": kernel, "bias": bias},
        optgrad.adam(0.05),
        _data(),
        batch_size=8,
        epochs=3,
        key=key,
        progress=False,
    )
    assert isinstance(trained, nnx.Linear)
    tree_allclose(trained.kernel[...], params["kernel"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history.loss, plain_history.loss, rtol=1e-5)
    # The module passed in is left as it was.
    np.testing.assert_array_equal(model.kernel[...], kernel)


class _Regressor(nnx.Module):
    def __init__(self, rngs):
        self.hidden = nnx.Linear(4, 16, rngs=rngs)
        self.norm = nnx.BatchNorm(16, rngs=rngs)
        self.dropout = nnx.Dropout(0.5, rngs=rngs)
        self.out = nnx.Linear(16, 1, rngs=rngs)

    def __call__(self, x):
        h = self.dropout(nnx.relu(self.norm(self.hidden(x))))
        return self.out(h)


def test_nnx_state_is_carried_and_evaluation_is_deterministic(key):
    model = _Regressor(nnx.Rngs(0, dropout=1))
    trained, history = fit(
        _loss,
        model,
        optgrad.adam(0.01),
        _data(),
        batch_size=8,
        epochs=4,
        key=key,
        validation_data=_data(seed=1),
        progress=False,
    )
    # Batch statistics and the dropout RNG counter moved during training.
    assert not np.allclose(trained.norm.mean[...], model.norm.mean[...])
    assert int(trained.dropout.rngs.count.get_value()) > int(
        model.dropout.rngs.count.get_value()
    )
    # Evaluation turns dropout off, so it gives one value every time.
    first = evaluate({"loss": _loss}, trained, _data(seed=1))
    second = evaluate({"loss": _loss}, trained, _data(seed=1))
    assert first == second
    assert history.last("val_loss") == pytest.approx(first["loss"], rel=1e-6)
    assert np.all(np.isfinite(history.loss))


def test_nnx_early_stopping_returns_module(key):
    model = nnx.Linear(4, 1, rngs=nnx.Rngs(0))
    data = _data()
    validation = {"x": data["x"], "y": -data["y"]}
    trained, history = fit(
        _loss,
        model,
        optgrad.sgd(0.05),
        data,
        batch_size=8,
        epochs=10,
        key=key,
        validation_data=validation,
        callbacks=[EarlyStopping(patience=1)],
        progress=False,
    )
    assert isinstance(trained, nnx.Linear)
    assert history.num_epochs < 10
    value = evaluate({"loss": _loss}, trained, validation)["loss"]
    assert value == pytest.approx(min(history.epochs["val_loss"]), rel=1e-6)


def test_nnx_grad_norm_matches_jax(key):
    model = nnx.Linear(4, 1, rngs=nnx.Rngs(0))
    data = _data()
    _, history = fit(
        _loss, model, optgrad.sgd(0.0), data, epochs=1, key=None, progress=False
    )
    grads = nnx.grad(_loss)(model, data)
    expected = float(optgrad.tree.norm(jax.tree.leaves(grads)))
    assert history.grad_norm[0] == pytest.approx(expected, rel=1e-6)
