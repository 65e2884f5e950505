import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose
from stepping import gradient_sequence, params_tree, run_updates

import optgrad


def _decay_matrices(params):
    return jax.tree.map(lambda p: p.ndim >= 2, params)


def test_adadelta_without_learning_rate_descends():
    params = jnp.ones(2)
    grads = jnp.ones(2)
    tx = optgrad.adadelta()
    updates, _ = tx.update(grads, tx.init(params), params)
    assert np.all(np.asarray(updates) < 0)
    # optax 0.2.8 ascends here because it leaves the sign of the step as is.
    with reference_mode():
        reference = optax.adadelta()
        theirs, _ = reference.update(grads, reference.init(params), params)
    np.testing.assert_allclose(updates, -np.asarray(theirs), rtol=1e-6)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("adadelta", {"learning_rate": 1.0, "weight_decay": 0.1}),
        (
            "adafactor",
            {
                "learning_rate": 0.1,
                "weight_decay_rate": 0.1,
                "min_dim_size_to_factor": 2,
            },
        ),
    ],
)
def test_mask_is_weight_decay_mask(name, kwargs):
    factory = getattr(optgrad, name)
    params = params_tree()
    grads = gradient_sequence(params, 3)
    by_mask, _ = run_updates(factory(**kwargs, mask=_decay_matrices), params, grads)
    by_optax_name, _ = run_updates(
        factory(**kwargs, weight_decay_mask=_decay_matrices), params, grads
    )
    unmasked, _ = run_updates(factory(**kwargs), params, grads)
    tree_allclose(by_mask, by_optax_name, rtol=0, atol=0)
    assert not np.allclose(by_mask[-1]["b"], unmasked[-1]["b"])


@pytest.mark.parametrize("name", ["adadelta", "adafactor"])
def test_rejects_both_mask_names(name):
    with pytest.raises(ValueError, match="weight_decay_mask= and mask="):
        getattr(optgrad, name)(mask=_decay_matrices, weight_decay_mask=_decay_matrices)


def test_adafactor_state_matches_optax_structure():
    params = params_tree()
    params["big"] = jnp.ones((6, 4))
    kwargs = {"learning_rate": 0.1, "min_dim_size_to_factor": 4, "momentum": 0.9}
    with reference_mode():
        expected = optax.adafactor(**kwargs).init(params)
    state = optgrad.adafactor(**kwargs).init(params)
    assert len(state) == len(expected)
    for ours, theirs in zip(state, expected, strict=True):
        assert type(ours).__name__ == type(theirs).__name__
    for ours, theirs in zip(
        jax.tree.leaves(state), jax.tree.leaves(expected), strict=True
    ):
        assert ours.shape == theirs.shape


def test_adafactor_float16_matches_float32():
    params = params_tree()
    params["big"] = jnp.linspace(-1.0, 1.0, 24).reshape(6, 4)
    grads = gradient_sequence(params, 3, scale=300.0)
    tx = optgrad.adafactor(learning_rate=0.1, min_dim_size_to_factor=4)
    expected, _ = run_updates(tx, params, grads)
    half = jax.tree.map(lambda x: x.astype(jnp.float16), params)
    half_grads = [jax.tree.map(lambda x: x.astype(jnp.float16), g) for g in grads]
    actual, _ = run_updates(tx, half, half_grads)
    for got, want in zip(actual, expected, strict=True):
        tree_allclose(
            jax.tree.map(lambda x: x.astype(jnp.float32), got),
            want,
            rtol=2e-2,
            atol=2e-3,
        )


def test_sm3_accepts_schedule():
    params = jnp.ones(2)
    tx = optgrad.sm3(
        lambda count: 0.1 * (count.astype(jnp.float32) + 1.0), momentum=0.0
    )
    outputs, _ = run_updates(tx, params, [jnp.ones(2)] * 2)
    np.testing.assert_allclose(outputs[0], [-0.1, -0.1], rtol=1e-6)
    np.testing.assert_allclose(outputs[1], [-0.2 / np.sqrt(2)] * 2, rtol=1e-6)


def test_rmsprop_centered_momentum_numpy_reference():
    lr, decay, mu, eps = 0.1, 0.9, 0.5, 1e-8
    g = [np.array([1.0, -2.0]), np.array([0.5, 0.5]), np.array([-1.0, 3.0])]
    tx = optgrad.rmsprop(lr, decay=decay, centered=True, momentum=mu, nesterov=True)
    outputs, _ = run_updates(tx, jnp.zeros(2), [jnp.asarray(x) for x in g])
    m = v = buffer = 0.0
    for x, out in zip(g, outputs, strict=True):
        m = decay * m + (1 - decay) * x
        v = decay * v + (1 - decay) * x**2
        step = -lr * x / np.sqrt(v - m**2 + eps)
        buffer = step + mu * buffer
        np.testing.assert_allclose(out, step + mu * buffer, rtol=1e-5)


@pytest.mark.parametrize(
    ("factory", "pattern"),
    [
        (lambda: optgrad.rmsprop(0.1, nesterov=True), "needs a momentum"),
        (lambda: optgrad.rmsprop(0.1, decay=-0.1), r"rmsprop\(decay=-0.1\)"),
        (lambda: optgrad.rmsprop(0.1, momentum=2.0), r"momentum must be in \[0, 1\]"),
        (lambda: optgrad.adagrad(0.1, eps=-1e-7), r"adagrad\(eps=-1e-07\)"),
        (lambda: optgrad.adadelta(eps=0.0), r"adadelta\(eps=0.0\)"),
        (lambda: optgrad.adafactor(clipping_threshold=0.0), r"clipping_threshold"),
        (lambda: optgrad.adafactor(momentum=1.5), r"adafactor\(momentum=1.5\)"),
        (lambda: optgrad.adafactor(weight_decay_rate=-1.0), r"weight_decay_rate"),
        (lambda: optgrad.sm3(0.1, momentum=-0.5), r"sm3\(momentum=-0.5\)"),
    ],
)
def test_adaptive_optimizers_reject_bad_hyperparameters(factory, pattern):
    with pytest.raises(ValueError, match=pattern):
        factory()


TOP_LEVEL_NAMES = [
    "FactoredState",
    "ScaleByAdaDeltaState",
    "ScaleByRStdDevState",
    "ScaleByRmsState",
    "ScaleByRpropState",
    "ScaleByRssState",
    "ScaleBySM3State",
    "ScaleByTrustRatioState",
    "scale_by_adadelta",
    "scale_by_distance_over_gradients",
    "scale_by_factored_rms",
    "scale_by_optimistic_gradient",
    "scale_by_param_block_norm",
    "scale_by_param_block_rms",
    "scale_by_polyak",
    "scale_by_rms",
    "scale_by_rprop",
    "scale_by_rss",
    "scale_by_sign",
    "scale_by_sm3",
    "scale_by_stddev",
    "scale_by_trust_ratio",
]


@pytest.mark.parametrize("name", TOP_LEVEL_NAMES)
def test_top_level_names_match_optax(name):
    assert hasattr(optax, name)
    assert getattr(optgrad, name) is getattr(optgrad.transforms, name)


@pytest.mark.parametrize(
    "name", ["ScaleBySM3State", "ScaleByRpropState", "FactoredState", "ScaleByRssState"]
)
def test_state_fields_match_optax(name):
    assert getattr(optgrad, name)._fields == getattr(optax, name)._fields
