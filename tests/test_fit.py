"""Tests of optgrad.training.fit: batching, equality with a hand loop, extras."""

import contextlib
import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose, tree_equal

import optgrad
from optgrad.training import (
    Callback,
    EarlyStopping,
    History,
    TerminateOnNaN,
    evaluate,
    fit,
)

NUM_EXAMPLES = 10


def _data(num_examples=NUM_EXAMPLES, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(num_examples, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32) + 0.3).astype(np.float32)
    return {"x": jnp.asarray(x), "y": jnp.asarray(y)}


def _params():
    return {"w": jnp.zeros(3, jnp.float32), "b": jnp.zeros((), jnp.float32)}


def _loss(params, batch):
    prediction = batch["x"] @ params["w"] + params["b"]
    return jnp.mean((prediction - batch["y"]) ** 2)


def _hand_loop(optimizer, data, *, batch_size, epochs, key, drop_remainder=False):
    """Train with one jitted step per batch, batches cut by fit's documented rule."""
    params = _params()
    state = optimizer.init(params)

    @jax.jit
    def step(params, state, batch):
        loss, grads = jax.value_and_grad(_loss)(params, batch)
        updates, state = optimizer.update(grads, state, params)
        return optgrad.apply_updates(params, updates), state, loss

    losses = []
    n = NUM_EXAMPLES
    for epoch in range(epochs):
        order = np.asarray(jax.random.permutation(jax.random.fold_in(key, epoch), n))
        starts = range(0, n, batch_size)
        for start in starts:
            indices = order[start : start + batch_size]
            if drop_remainder and len(indices) < batch_size:
                break
            batch = jax.tree.map(lambda x, i=indices: x[i], data)
            params, state, loss = step(params, state, batch)
            losses.append(float(loss))
    return params, np.asarray(losses, np.float32)


@pytest.mark.parametrize(
    "optimizer",
    [optgrad.sgd(0.05), optgrad.sgd(0.05, momentum=0.9), optgrad.adam(0.05)],
    ids=["sgd", "momentum", "adam"],
)
@pytest.mark.parametrize("batch_size", [1, 3, 5])
def test_fit_matches_hand_loop(optimizer, batch_size, key):
    data = _data()
    params, history = fit(
        _loss,
        _params(),
        optimizer,
        data,
        batch_size=batch_size,
        epochs=3,
        key=key,
        progress=False,
    )
    expected_params, expected_losses = _hand_loop(
        optimizer, data, batch_size=batch_size, epochs=3, key=key
    )
    # Scan and a per-step jit may fuse differently, so allow a few ulps.
    tree_allclose(params, expected_params, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history.loss, expected_losses, rtol=1e-5, atol=1e-6)


def test_fit_full_batch_matches_gradient_descent():
    data = _data()
    params, history = fit(
        _loss, _params(), optgrad.sgd(0.1), data, epochs=5, key=None, progress=False
    )
    expected = _params()
    for _ in range(5):
        grads = jax.grad(_loss)(expected, data)
        expected = jax.tree.map(lambda p, g: p - 0.1 * g, expected, grads)
    tree_allclose(params, expected, rtol=1e-5, atol=1e-6)
    assert history.num_steps == 5


@pytest.mark.parametrize(
    ("batch_size", "drop_remainder", "steps_per_epoch"),
    [
        (None, False, 1),
        (1, False, 10),
        (3, False, 4),
        (3, True, 3),
        (5, False, 2),
        (10, False, 1),
    ],
)
def test_fit_step_counts(batch_size, drop_remainder, steps_per_epoch, key):
    _, history = fit(
        _loss,
        _params(),
        optgrad.sgd(0.01),
        _data(),
        batch_size=batch_size,
        epochs=3,
        key=key,
        drop_remainder=drop_remainder,
        progress=False,
    )
    assert history.num_steps == 3 * steps_per_epoch
    assert history.epoch_end_step == [steps_per_epoch * e for e in (1, 2, 3)]
    assert history.grad_norm.shape == (3 * steps_per_epoch,)
    assert history.update_norm.shape == (3 * steps_per_epoch,)


def test_fit_drop_remainder_matches_hand_loop(key):
    data = _data()
    params, _ = fit(
        _loss,
        _params(),
        optgrad.sgd(0.05),
        data,
        batch_size=4,
        epochs=2,
        key=key,
        drop_remainder=True,
        progress=False,
    )
    expected, _ = _hand_loop(
        optgrad.sgd(0.05), data, batch_size=4, epochs=2, key=key, drop_remainder=True
    )
    tree_allclose(params, expected, rtol=1e-5, atol=1e-6)


def test_partial_batch_is_mean_over_real_examples(key):
    # One epoch of 10 examples in batches of 4: the third step uses 2 examples.
    data = _data()
    _, history = fit(
        _loss,
        _params(),
        optgrad.sgd(0.0),
        data,
        batch_size=4,
        epochs=1,
        key=key,
        progress=False,
    )
    order = np.asarray(jax.random.permutation(jax.random.fold_in(key, 0), 10))
    tail = jax.tree.map(lambda x: x[order[8:]], data)
    assert history.loss[2] == pytest.approx(float(_loss(_params(), tail)), rel=1e-6)
    grads = jax.grad(_loss)(_params(), tail)
    assert history.grad_norm[2] == pytest.approx(
        float(optgrad.tree.norm(grads)), rel=1e-5
    )
    # The epoch's train loss weights the 2-example batch by 2, not by 4.
    weights = np.array([4.0, 4.0, 2.0])
    expected = float(np.sum(history.loss * weights) / 10.0)
    assert history.epochs["train_loss"][0] == pytest.approx(expected, rel=1e-6)


def test_fit_is_deterministic():
    data = _data()
    runs = [
        fit(
            _loss,
            _params(),
            optgrad.adam(0.01),
            data,
            batch_size=3,
            epochs=4,
            key=jax.random.key(seed),
            progress=False,
        )
        for seed in (7, 7, 8)
    ]
    tree_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1].loss, runs[1][1].loss)
    assert not np.array_equal(runs[0][1].loss, runs[2][1].loss)


def test_fit_accepts_raw_uint32_key():
    data = _data()
    typed, _ = fit(
        _loss,
        _params(),
        optgrad.sgd(0.01),
        data,
        batch_size=2,
        epochs=2,
        key=jax.random.key(3),
        progress=False,
    )
    raw, _ = fit(
        _loss,
        _params(),
        optgrad.sgd(0.01),
        data,
        batch_size=2,
        epochs=2,
        key=jax.random.PRNGKey(3),
        progress=False,
    )
    tree_equal(typed, raw)


def test_fit_compiles_once(key):
    traces = []

    def counting_loss(params, batch):
        traces.append(batch["x"].shape)
        return _loss(params, batch)

    for epochs in (1, 4):
        traces.clear()
        fit(
            counting_loss,
            _params(),
            optgrad.sgd(0.01),
            _data(),
            batch_size=3,
            epochs=epochs,
            key=key,
            validation_data=_data(seed=1),
            progress=False,
        )
        # One trace for the scan body, one for the 1-example last batch and
        # one for the validation loss, whatever the number of epochs.
        assert sorted(traces) == [(1, 3), (3, 3), (10, 3)]


def test_fit_records_validation_and_metrics(key):
    def mean_abs_error(params, batch):
        return jnp.mean(jnp.abs(batch["x"] @ params["w"] + params["b"] - batch["y"]))

    metrics = {"mae": mean_abs_error}
    validation = _data(seed=1)
    params, history = fit(
        _loss,
        _params(),
        optgrad.sgd(0.05),
        _data(),
        batch_size=5,
        epochs=3,
        key=key,
        validation_data=validation,
        metrics=metrics,
        progress=False,
    )
    assert set(history.epochs) == {"train_loss", "train_mae", "val_loss", "val_mae"}
    assert all(len(series) == 3 for series in history.epochs.values())
    measured = evaluate({"loss": _loss, **metrics}, params, validation)
    assert history.last("val_loss") == pytest.approx(measured["loss"], rel=1e-6)
    assert history.last("val_mae") == pytest.approx(measured["mae"], rel=1e-6)
    train = evaluate(metrics, params, _data())
    assert history.last("train_mae") == pytest.approx(train["mae"], rel=1e-6)


def test_evaluate_in_chunks_matches_whole(key):
    params = {"w": jnp.array([0.5, 0.1, -1.0]), "b": jnp.array(0.2)}
    whole = evaluate({"loss": _loss}, params, _data())
    chunked = evaluate({"loss": _loss}, params, _data(), batch_size=3)
    assert chunked["loss"] == pytest.approx(whole["loss"], rel=1e-6)


def test_fit_records_scalar_aux(key):
    def loss_with_aux(params, batch):
        loss = _loss(params, batch)
        return loss, {"twice": 2.0 * loss, "ignored": batch["y"]}

    _, history = fit(
        loss_with_aux,
        _params(),
        optgrad.sgd(0.05),
        _data(),
        batch_size=4,
        epochs=2,
        key=key,
        has_aux=True,
        progress=False,
    )
    assert "train_ignored" not in history.epochs
    np.testing.assert_allclose(
        history.epochs["train_twice"],
        2.0 * np.asarray(history.epochs["train_loss"]),
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    ("aux", "metrics", "match"),
    [
        ({"loss": 1.0}, {}, r"aux value named 'loss'.*train_loss"),
        ({"mae": 1.0}, {"mae": _loss}, r"aux value named 'mae'.*metric 'mae'"),
        ({"a": {"b": 1.0}, "a/b": 2.0}, {}, r"two aux values named 'a/b'"),
    ],
)
def test_fit_rejects_colliding_aux_names(aux, metrics, match, key):
    def loss_with_aux(params, batch):
        return _loss(params, batch), aux

    with pytest.raises(ValueError, match=match):
        _fit_one_epoch(loss_with_aux, key, metrics=metrics, has_aux=True)


def test_fit_asks_for_has_aux_on_pair(key):
    def loss_with_aux(params, batch):
        return _loss(params, batch), {"twice": 2.0}

    with pytest.raises(ValueError, match=r"tuple of 2 items.*has_aux=True"):
        _fit_one_epoch(loss_with_aux, key)


def _fit_one_epoch(loss_fn, key, **kwargs):
    return fit(
        loss_fn,
        _params(),
        optgrad.sgd(0.05),
        _data(),
        epochs=1,
        key=key,
        progress=False,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("optimizer", "match"),
    [
        ("adam", r"is str 'adam', not a gradient.*optgrad\.adam\(1e-3\)"),
        (optgrad.adam, r"is function adam.*Call the factory first"),
        (None, r"is NoneType None, not a gradient transformation"),
    ],
)
def test_fit_rejects_non_transformation(optimizer, match, key):
    with pytest.raises(TypeError, match=match):
        fit(_loss, _params(), optimizer, _data(), epochs=1, key=key, progress=False)


def test_fit_passes_loss_to_extra_args_optimizer(key):
    # A transform that divides the update by the loss it receives as value=.
    def update(updates, state, params=None, *, value, **extra_args):
        del params, extra_args
        return jax.tree.map(lambda u: u / value, updates), state

    divide = optgrad.GradientTransformationExtraArgs(optgrad.init_empty_state, update)
    optimizer = optgrad.chain(divide, optgrad.sgd(0.01))
    data = _data()
    params, _ = fit(
        _loss, _params(), optimizer, data, epochs=2, key=None, progress=False
    )
    expected = _params()
    for _ in range(2):
        loss, grads = jax.value_and_grad(_loss)(expected, data)
        expected = jax.tree.map(lambda p, g, v=loss: p - 0.01 * g / v, expected, grads)
    tree_allclose(params, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("library", ["optgrad", "optax"])
def test_fit_full_batch_lbfgs_solves_least_squares(library):
    # L-BFGS takes value=, grad= and value_fn= in update, in optgrad and in
    # optax; fit passes all three.
    data = _data(num_examples=40)
    # optax does not run under the suite's strict promotion rules.
    strictness = reference_mode() if library == "optax" else contextlib.nullcontext()
    with strictness:
        optimizer = optgrad.lbfgs() if library == "optgrad" else optax.lbfgs()
        params, history = fit(
            _loss, _params(), optimizer, data, epochs=15, key=None, progress=False
        )
    assert history.num_steps == 15
    assert history.loss[-1] < 1e-8
    np.testing.assert_allclose(params["w"], [1.0, -2.0, 0.5], atol=1e-4)


# "nll" is the squared error here: a minimized name without "loss" in it.
@pytest.mark.parametrize("monitor", ["val_loss", "val_nll"])
def test_early_stopping_restores_best(monitor, key):
    # Validation targets have the opposite sign, so the validation loss is
    # best after the first epoch and worse after every later one.
    data = _data()
    validation = {"x": data["x"], "y": -data["y"]}
    stopper = EarlyStopping(monitor, patience=2)
    params, history = fit(
        _loss,
        _params(),
        optgrad.sgd(0.05),
        data,
        batch_size=5,
        epochs=20,
        key=key,
        validation_data=validation,
        metrics={"nll": _loss},
        callbacks=[stopper],
        progress=False,
    )
    assert history.num_epochs == 3
    assert stopper.best_epoch == 0
    assert stopper.stopped_epoch == 2
    best_loss = evaluate({"loss": _loss}, params, validation)["loss"]
    assert best_loss == pytest.approx(history.epochs[monitor][0], rel=1e-6)


def test_early_stopping_maximizes_accuracy_names():
    assert EarlyStopping("val_accuracy").mode == "max"
    assert EarlyStopping("val_loss").mode == "min"
    with pytest.raises(ValueError, match="mode='best'"):
        EarlyStopping("val_loss", mode="best")


@pytest.mark.parametrize(
    ("monitor", "mode"),
    [
        ("val_loss", "min"),
        ("val_nll", "min"),
        ("val_cross_entropy", "min"),
        ("train_rmse", "min"),
        ("val_top1_error", "min"),
        ("val_accuracy", "max"),
        ("val_sequence_accuracy", "max"),
        ("val_r2", "max"),
        ("val_mean_iou", "max"),
        ("val_dice", "max"),
        ("val_dice_loss", "min"),
        ("val_auc", "max"),
    ],
)
def test_early_stopping_guesses_direction(monitor, mode):
    assert EarlyStopping(monitor).mode == mode


@pytest.mark.parametrize(
    "monitor",
    ["val_hinge", "val_score", "val_mseloss", "x", "val_neg_mse", "negative_loss"],
)
def test_early_stopping_rejects_unknown_direction(monitor):
    with pytest.raises(ValueError, match=r"mode='min' or mode='max'"):
        EarlyStopping(monitor)
    assert EarlyStopping(monitor, mode="max").mode == "max"


def test_early_stopping_names_missing_series(key):
    with pytest.raises(ValueError, match=r"monitor='val_accuracy'.*train_loss"):
        fit(
            _loss,
            _params(),
            optgrad.sgd(0.01),
            _data(),
            epochs=1,
            key=key,
            callbacks=[EarlyStopping("val_accuracy")],
            progress=False,
        )


def test_callback_hooks_run_in_order(key):
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, params, history):
            calls.append("begin")

        def on_epoch_end(self, epoch, params, history):
            calls.append(epoch)
            return epoch == 1

        def on_train_end(self, params, history):
            calls.append("end")
            return "replaced"

    result, _ = fit(
        _loss,
        _params(),
        optgrad.sgd(0.01),
        _data(),
        epochs=5,
        key=key,
        callbacks=[Recorder()],
        progress=False,
    )
    assert calls == ["begin", 0, 1, "end"]
    assert result == "replaced"


def test_progress_bar_shows_loss(key, capsys):
    fit(
        _loss,
        _params(),
        optgrad.sgd(0.01),
        _data(),
        epochs=2,
        key=key,
        validation_data=_data(seed=1),
        progress=True,
    )
    err = capsys.readouterr().err
    assert "2/2" in err
    assert "loss=" in err
    assert "val_loss=" in err


def test_progress_false_is_silent(key, capsys):
    fit(_loss, _params(), optgrad.sgd(0.01), _data(), epochs=2, key=key, progress=False)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == ""


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 11}, ValueError, r"batch_size=11\) exceeds the 10 examples"),
        ({"batch_size": 0}, ValueError, r"batch_size=0\) must be >= 1"),
        ({"epochs": 0}, ValueError, r"epochs=0\) must be >= 1"),
        ({"epochs": 1.5}, TypeError, r"epochs=...\) must be an integer"),
        ({"batch_size": 2, "key": None}, ValueError, "key=None"),
        ({"batch_size": 2, "key": 0}, TypeError, "must be a PRNG key"),
        ({"metrics": [len]}, TypeError, "metrics=...\\) must map names"),
        ({"callbacks": [len]}, TypeError, "Callback objects"),
        ({"metrics": {"loss": len}}, ValueError, r"metric named 'loss'.*val_loss"),
    ],
)
def test_fit_rejects_invalid_arguments(kwargs, error, match):
    arguments = {"epochs": 1, "key": jax.random.key(0), "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        fit(_loss, _params(), optgrad.sgd(0.01), _data(), **arguments)


def test_fit_names_leaves_with_different_sizes(key):
    data = {"x": jnp.ones((10, 3)), "y": jnp.ones(9)}
    with pytest.raises(ValueError, match=r"\['x'\]: 10, \['y'\]: 9"):
        fit(
            _loss, _params(), optgrad.sgd(0.01), data, epochs=1, key=key, progress=False
        )


def test_fit_rejects_non_scalar_loss(key):
    def per_example(params, batch):
        return (batch["x"] @ params["w"] - batch["y"]) ** 2

    with pytest.raises(ValueError, match=r"loss_fn must return a scalar.*\(10,\)"):
        fit(
            per_example,
            _params(),
            optgrad.sgd(0.01),
            _data(),
            epochs=1,
            key=key,
            progress=False,
        )


def test_history_plot_and_json(key, tmp_path):
    _, history = fit(
        _loss,
        _params(),
        optgrad.sgd(0.05),
        _data(),
        batch_size=5,
        epochs=3,
        key=key,
        validation_data=_data(seed=1),
        metrics={"mse": _loss},
        progress=False,
    )
    figure = history.plot()
    assert len(figure.axes) == 3
    path = tmp_path / "history.png"
    figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = json.loads(json.dumps(history.to_dict()))
    assert record["epoch"] == [1, 2, 3]
    assert record["steps"] == [2, 4, 6]
    assert len(record["val_mse"]) == 3


def test_history_repr_is_short():
    history = History()
    assert repr(history) == "History(num_steps=0, num_epochs=0, last={})"
    for epoch in range(3):
        history.append_epoch(
            np.full(1000, 0.5),
            np.ones(1000),
            np.ones(1000),
            {"train_loss": 0.25 / (epoch + 1), "val_accuracy": 0.9},
            1.0,
        )
    text = repr(history)
    assert text == (
        "History(num_steps=3000, num_epochs=3, "
        "last={'train_loss': 0.08333, 'val_accuracy': 0.9})"
    )


def test_history_last_names_series():
    with pytest.raises(KeyError, match="no per-epoch series 'val_loss'"):
        History().last("val_loss")


def test_import_needs_no_optional_packages():
    code = (
        "import sys, optgrad, optgrad.training; "
        "print(sorted(m for m in ('flax', 'sklearn', 'matplotlib', 'tqdm') "
        "if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"


def test_fit_feeds_loss_to_reduce_on_plateau():
    # The loss value is always 1 while its gradient is 1, so the monitored
    # value never improves and the plateau transform halves the step size
    # after every `patience` stalled steps.
    def flat_loss(params, batch):
        del batch
        return jax.lax.stop_gradient(1.0 - params["w"]) + params["w"]

    optimizer = optgrad.chain(
        optgrad.sgd(0.1), optgrad.reduce_on_plateau(factor=0.5, patience=2)
    )
    _, history = fit(
        flat_loss,
        {"w": jnp.zeros(())},
        optimizer,
        {"x": jnp.zeros((4, 1))},
        epochs=8,
        key=None,
        progress=False,
    )
    np.testing.assert_allclose(history.loss, 1.0)
    assert history.update_norm[0] == pytest.approx(0.1)
    assert history.update_norm[-1] < 0.1
    assert np.all(np.diff(history.update_norm) <= 0)


def test_missing_optional_package_names_the_fix():
    from optgrad.training._optional import import_optional

    with pytest.raises(ImportError, match=r"Plotting needs nosuchpackage.*pip install"):
        import_optional("nosuchpackage_for_tests", "nosuchpackage", "Plotting")


def test_terminate_on_nan_stops_diverging_run(key):
    stopper = TerminateOnNaN()
    _, history = fit(
        _loss,
        _params(),
        optgrad.sgd(10.0),
        _data(),
        epochs=500,
        key=key,
        callbacks=[stopper],
        progress=False,
    )
    assert stopper.stopped_epoch is not None
    assert history.num_epochs == stopper.stopped_epoch + 1
    assert history.num_epochs < 500
    assert not np.isfinite(history.loss[stopper.first_bad_step])
    assert np.all(np.isfinite(history.loss[: stopper.first_bad_step]))
    assert stopper.first_bad_step == history.num_steps - 1


def test_terminate_on_nan_keeps_finite_run(key):
    stopper = TerminateOnNaN()
    _, history = fit(
        _loss,
        _params(),
        optgrad.sgd(0.05),
        _data(),
        batch_size=4,
        epochs=3,
        key=key,
        callbacks=[stopper],
        progress=False,
    )
    assert stopper.stopped_epoch is None
    assert stopper.first_bad_step is None
    assert history.num_epochs == 3
