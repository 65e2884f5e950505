"""Construction-time checks and signatures of the Adam family and the clips."""

import inspect

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optgrad

BAD_ARGUMENTS = [
    ("adamw", {"b1": 1.2}, r"adamw\(b1=1.2\) is out of range: b1 must be in \[0, 1\)"),
    ("nadam", {"b2": 1.0}, r"nadam\(b2=1.0\) is out of range: b2 must be in \[0, 1\)"),
    ("nadamw", {"eps": -1.0}, r"nadamw\(eps=-1.0\) is out of range: eps must be >= 0"),
    ("amsgrad", {"eps_root": -1e-8}, r"amsgrad\(eps_root=-1e-08\)"),
    ("adamax", {"b1": -0.1}, r"adamax\(b1=-0.1\) is out of range"),
    ("adamax", {"b2": 1.5}, r"adamax\(b2=1.5\) .* b2 must be in \[0, 1\]"),
    ("adamaxw", {"weight_decay": -0.1}, r"adamaxw\(weight_decay=-0.1\)"),
    ("adan", {"b3": 1.5}, r"adan\(b3=1.5\) is out of range"),
    ("adabelief", {"b1": 1.0}, r"adabelief\(b1=1.0\) is out of range"),
    ("lion", {"b2": 1.5}, r"lion\(b2=1.5\) is out of range: b2 must be in \[0, 1\]"),
    ("radam", {"b2": 1.0}, r"radam\(b2=1.0\) is out of range"),
    ("yogi", {"eps": -1.0}, r"yogi\(eps=-1.0\) is out of range"),
    ("novograd", {"b2": 1.0}, r"novograd\(b2=1.0\) is out of range"),
    ("noisy_sgd", {"eta": -1.0}, r"noisy_sgd\(eta=-1.0\) is out of range"),
    ("optimistic_adam", {"b1": 2.0}, r"optimistic_adam\(b1=2.0\) is out of range"),
    ("optimistic_adam_v2", {"b2": -0.5}, r"optimistic_adam_v2\(b2=-0.5\)"),
    ("adamw", {"learning_rate": float("inf")}, r"adamw\(learning_rate=inf\)"),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "message"), BAD_ARGUMENTS, ids=[b[0] for b in BAD_ARGUMENTS]
)
def test_bad_hyperparameter_raises(name, kwargs, message):
    kwargs = {"learning_rate": 1e-3, **kwargs}
    if name == "noisy_sgd":
        kwargs["key"] = 0
    with pytest.raises(ValueError, match=message):
        getattr(optgrad, name)(**kwargs)


@pytest.mark.parametrize("name", ["b1", "b2", "eps", "eps_root"])
def test_none_hyperparameter_is_rejected(name):
    with pytest.raises(TypeError, match=rf"adam\({name}=...\) must be a number"):
        optgrad.adam(1e-3, **{name: None})


@pytest.mark.parametrize(
    "b1", [1.2, np.float32(1.2), jnp.asarray(1.2), np.asarray(1.2, np.float64)]
)
def test_range_message_shows_passed_value(b1):
    with pytest.raises(ValueError, match=r"^adam\(b1=1\.2\) is out of range"):
        optgrad.adam(1e-3, b1=b1)


def test_injected_b1_message_shows_value():
    # inject_hyperparams stores the value as a float32 array and builds adam
    # with it at init.
    opt = optgrad.inject_hyperparams(optgrad.adam)(learning_rate=1e-3, b1=1.2)
    with pytest.raises(ValueError, match=r"^adam\(b1=1\.2\) is out of range"):
        opt.init({"w": jnp.ones(2)})


def test_optional_hyperparameters_accept_none():
    optgrad.sgd(0.1, momentum=None)
    optgrad.scale_by_zoom_linesearch(10, max_learning_rate=None, approx_dec_rtol=None)
    loss = optgrad.losses.sigmoid_focal_loss(jnp.zeros(2), jnp.ones(2), alpha=None)
    np.testing.assert_allclose(loss, 0.25 * np.log(2.0), rtol=1e-6)


def test_optimistic_adam_rejects_a_schedule():
    with pytest.raises(ValueError, match="Use optimistic_adam_v2 for a schedule"):
        optgrad.optimistic_adam(lambda count: 1e-3)


WEIGHT_DECAY_OPTIMIZERS = ["adamw", "nadamw", "adamaxw", "adan", "lion", "novograd"]


@pytest.mark.parametrize("name", WEIGHT_DECAY_OPTIMIZERS)
def test_weight_decay_optimizers_take_a_mask(name):
    parameters = inspect.signature(getattr(optgrad, name)).parameters
    assert "weight_decay" in parameters
    assert "mask" in parameters
    assert parameters["mask"].default is None


FACTORIES = [
    "adamw", "nadam", "nadamw", "amsgrad", "adamax", "adamaxw", "adan",
    "adabelief", "lion", "radam", "yogi", "novograd", "noisy_sgd",
    "optimistic_adam", "optimistic_adam_v2", "scale_by_amsgrad",
    "scale_by_adamax", "scale_by_adan", "scale_by_belief", "scale_by_lion",
    "scale_by_radam", "scale_by_yogi", "scale_by_novograd", "centralize",
    "normalize_by_update_norm", "add_noise", "clip", "clip_by_global_norm",
    "clip_by_block_rms", "adaptive_grad_clip", "keep_params_nonnegative",
    "zero_nans",
]  # fmt: skip


@pytest.mark.parametrize("name", FACTORIES)
def test_signature_matches_optax(name):
    ours = inspect.signature(getattr(optgrad, name)).parameters
    theirs = inspect.signature(getattr(optax, name)).parameters
    pairs = zip(ours.items(), theirs.items(), strict=False)
    for (arg, mine), (their_arg, their) in pairs:
        assert arg == their_arg
        assert mine.kind == their.kind, arg
        assert mine.default == their.default, arg
    # optgrad may add keyword-only arguments after optax's (novograd's mask).
    for arg in list(ours)[len(theirs) :]:
        assert ours[arg].kind == inspect.Parameter.KEYWORD_ONLY, arg
    assert len(ours) >= len(theirs)


STATE_ALIASES = [
    "ClipState", "ClipByGlobalNormState", "AdaptiveGradClipState",
    "NonNegativeParamsState", "ScaleByAmsgradState", "ScaleByAdanState",
    "ScaleByBeliefState", "ScaleByLionState", "ScaleByNovogradState",
    "AddNoiseState", "ZeroNansState",
]  # fmt: skip


@pytest.mark.parametrize("name", STATE_ALIASES)
def test_state_fields_match_optax(name):
    assert getattr(optgrad, name)._fields == getattr(optax, name)._fields
