"""Tests of the Dice, Tversky and Jaccard segmentation losses."""

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

from optgrad import losses


def overlap_reference(probabilities, targets, alpha, beta, smooth, axis):
    """Return the per-class Tversky loss in float64.

    With I = sum(p * t), P = sum(p) and T = sum(t) over ``axis``:
        loss = 1 - (I + smooth) / (I + alpha (P - I) + beta (T - I) + smooth).
    alpha = beta = 0.5 is the Dice loss and alpha = beta = 1 the Jaccard loss
    1 - (I + smooth) / (P + T - I + smooth).
    """
    p = np.asarray(probabilities, np.float64)
    t = np.asarray(targets, np.float64)
    intersection = (p * t).sum(axis=axis)
    predicted = p.sum(axis=axis)
    actual = t.sum(axis=axis)
    denominator = (
        intersection
        + alpha * (predicted - intersection)
        + beta * (actual - intersection)
        + smooth
    )
    return 1 - (intersection + smooth) / denominator


def softmax(x):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def random_masks(seed, shape=(3, 6, 5, 4)):
    """Return float32 logits and one-hot targets of ``shape``."""
    rng = np.random.default_rng(seed)
    logits = jnp.asarray(rng.normal(size=shape) * 2, jnp.float32)
    labels = rng.integers(0, shape[-1], size=shape[:-1])
    targets = jnp.asarray(np.eye(shape[-1])[labels], jnp.float32)
    return logits, targets


# ---------------------------------------------------------------------------
# Parity with optax 0.2.8.

DICE_CASES = [
    {},
    {"alpha": 0.3, "beta": 0.7, "smooth": 0.5},
    {"reduction": "none"},
    {"reduction": "sum", "ignore_background": True},
    {"class_weights": jnp.array([0.5, 1.0, 2.0, 0.0])},
    {"axis": (1,)},
]


@pytest.mark.parametrize("kwargs", DICE_CASES, ids=str)
def test_dice_matches_optax(kwargs):
    logits, targets = random_masks(0)
    ours = jax.jit(lambda p, t: losses.dice_loss(p, t, **kwargs))(logits, targets)
    with helpers.reference_mode():
        theirs = optax.losses.dice_loss(logits, targets, **kwargs)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape", [(3, 6, 5, 1), (3, 6, 5)])
def test_dice_binary_matches_optax(shape):
    logits, _ = random_masks(1, shape)
    targets = jnp.asarray(np.random.default_rng(2).random(shape) > 0.5, jnp.float32)
    ours = jax.jit(losses.dice_loss)(logits, targets)
    binary = jax.jit(losses.binary_dice_loss)(logits, targets)
    with helpers.reference_mode():
        theirs = optax.losses.dice_loss(logits, targets)
        theirs_binary = optax.losses.binary_dice_loss(logits, targets)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    np.testing.assert_allclose(binary, theirs_binary, rtol=1e-6)


def test_dice_adds_missing_class_axis_like_optax():
    logits, _ = random_masks(3, (2, 5, 4, 1))
    targets = jnp.asarray(np.random.default_rng(4).random((2, 5, 4)) > 0.5, jnp.float32)
    ours = losses.dice_loss(logits, targets)
    flipped = losses.dice_loss(logits[..., 0], targets[..., None])
    with helpers.reference_mode():
        theirs = optax.losses.dice_loss(logits, targets)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    np.testing.assert_allclose(flipped, theirs, rtol=1e-6)


def test_dice_probabilities_match_optax_eagerly():
    logits, targets = random_masks(5)
    probabilities = jax.nn.softmax(logits)
    ours = losses.dice_loss(probabilities, targets, apply_softmax=False)
    with helpers.reference_mode():
        theirs = optax.losses.dice_loss(probabilities, targets, apply_softmax=False)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("ignore_background", [False, True])
def test_generalized_dice_matches_optax(ignore_background):
    logits, targets = random_masks(6)
    ours = jax.jit(
        lambda p, t: losses.multiclass_generalized_dice_loss(
            p, t, ignore_background=ignore_background
        )
    )(logits, targets)
    with helpers.reference_mode():
        theirs = optax.losses.multiclass_generalized_dice_loss(
            logits, targets, ignore_background=ignore_background
        )
    assert ours.shape == ()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_generalized_dice_weights_rare_classes():
    # Class 3 is absent, so its weight 1 / (0 + 1e-7) dominates the others.
    # The weighting is repeated in NumPy below.
    logits, targets = random_masks(7)
    targets = targets.at[..., 3].set(0.0).at[..., 0].add(targets[..., 3])
    loss = losses.multiclass_generalized_dice_loss(logits, targets)
    per_class = np.asarray(losses.dice_loss(logits, targets, reduction="none"))
    frequencies = np.asarray(targets, np.float64).sum(axis=(0, 1, 2))
    weights = 1 / (frequencies**2 + 1e-7)
    weights = weights / weights.sum() * 4
    np.testing.assert_allclose(loss, np.mean(per_class * weights), rtol=1e-5)


# ---------------------------------------------------------------------------
# Under jit and vmap, where optax 0.2.8 fails.


def test_dice_probabilities_under_jit_and_vmap():
    logits, targets = random_masks(8)
    probabilities = jax.nn.softmax(logits)

    def loss(p, t):
        return losses.dice_loss(p, t, apply_softmax=False)

    expected = overlap_reference(probabilities, targets, 0.5, 0.5, 1.0, (1, 2))
    np.testing.assert_allclose(
        jax.jit(loss)(probabilities, targets), expected.mean(-1), rtol=1e-6
    )
    stacked = jax.jit(jax.vmap(loss))(probabilities[:, None], targets[:, None])
    np.testing.assert_allclose(stacked[:, 0], expected.mean(-1), rtol=1e-6)

    with helpers.reference_mode(), pytest.raises(jax.errors.TracerBoolConversionError):
        jax.jit(lambda p, t: optax.losses.dice_loss(p, t, apply_softmax=False))(
            probabilities, targets
        )


def test_binary_dice_probability_maps_under_jit_and_vmap():
    rng = np.random.default_rng(9)
    probabilities = jnp.asarray(rng.random((3, 6, 5)), jnp.float32)
    targets = jnp.asarray(rng.random((3, 6, 5)) > 0.5, jnp.float32)

    def loss(p, t):
        return losses.binary_dice_loss(p, t, apply_sigmoid=False)

    expected = overlap_reference(probabilities, targets, 0.5, 0.5, 1.0, (1, 2))
    np.testing.assert_allclose(
        jax.jit(loss)(probabilities, targets), expected, rtol=1e-6
    )
    stacked = jax.jit(jax.vmap(loss))(probabilities[:, None], targets[:, None])
    np.testing.assert_allclose(stacked[:, 0], expected, rtol=1e-6)

    # optax 0.2.8 requires the single channel to sum to 1, even eagerly.
    with helpers.reference_mode(), pytest.raises(ValueError, match="sum to 1"):
        optax.losses.binary_dice_loss(probabilities, targets, apply_sigmoid=False)


# ---------------------------------------------------------------------------
# NumPy references and Jaccard.


@pytest.mark.parametrize(("alpha", "beta"), [(0.5, 0.5), (0.2, 0.8)])
def test_dice_matches_numpy_reference(alpha, beta):
    logits, targets = random_masks(10)
    loss = losses.dice_loss(logits, targets, alpha=alpha, beta=beta, reduction="none")
    expected = overlap_reference(softmax(logits), targets, alpha, beta, 1.0, (1, 2))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"reduction": "none", "smooth": 0.1},
        {"ignore_background": True, "class_weights": jnp.array([1.0, 2.0, 3.0, 4.0])},
    ],
    ids=str,
)
def test_jaccard_is_tversky_with_unit_weights(kwargs):
    logits, targets = random_masks(11)
    jaccard = jax.jit(lambda p, t: losses.jaccard_loss(p, t, **kwargs))(logits, targets)
    tversky = jax.jit(
        lambda p, t: losses.dice_loss(p, t, alpha=1.0, beta=1.0, **kwargs)
    )(logits, targets)
    np.testing.assert_allclose(jaccard, tversky, rtol=1e-6)


def test_jaccard_matches_numpy_reference():
    logits, targets = random_masks(12)
    loss = losses.jaccard_loss(logits, targets, reduction="none", smooth=0.5)
    expected = overlap_reference(softmax(logits), targets, 1.0, 1.0, 0.5, (1, 2))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    # Half-overlapping binary masks: I = 1, P = T = 2, so IoU = 1 / 3.
    p = jnp.array([[1.0, 1.0, 0.0]])
    t = jnp.array([[0.0, 1.0, 1.0]])
    half = losses.jaccard_loss(
        p[..., None], t[..., None], apply_softmax=False, smooth=0.0
    )
    np.testing.assert_allclose(half, [2 / 3], rtol=1e-6)


# ---------------------------------------------------------------------------
# Extremes, gradients, dtypes and errors.


@pytest.mark.parametrize(
    "loss_fn",
    [losses.dice_loss, losses.jaccard_loss, losses.multiclass_generalized_dice_loss],
)
def test_overlap_losses_extreme_logits(loss_fn):
    logits, targets = random_masks(13)
    logits = jnp.where(logits > 0, 1e4, -1e4)
    value, grad = jax.jit(jax.value_and_grad(lambda x: jnp.sum(loss_fn(x, targets))))(
        logits
    )
    assert np.isfinite(value)
    assert np.all(np.isfinite(grad))


def test_dice_exact_probabilities_and_empty_masks():
    # Probabilities of exactly 0 and 1, and a mask with no foreground at all.
    predictions = jnp.array([[[1.0], [0.0], [1.0]], [[0.0], [0.0], [0.0]]])
    targets = jnp.array([[[1.0], [0.0], [0.0]], [[0.0], [0.0], [0.0]]])

    def loss(p):
        return jnp.sum(losses.binary_dice_loss(p, targets, apply_sigmoid=False))

    value = losses.binary_dice_loss(predictions, targets, apply_sigmoid=False)
    grad = jax.grad(loss)(predictions)
    # First: I = 1, P = 2, T = 1: 1 - 2 / 2.5. Second: empty masks agree: 0.
    np.testing.assert_allclose(value, [1 - 2 / 2.5, 0.0], rtol=1e-6)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize(
    ("loss_fn", "kwargs"),
    [(losses.dice_loss, {"alpha": 0.3, "beta": 0.6}), (losses.jaccard_loss, {})],
)
def test_overlap_losses_check_grads(loss_fn, kwargs):
    logits, targets = random_masks(14, (2, 3, 2, 3))
    with jax.enable_x64(True):
        wide_targets = targets.astype(jnp.float64)

        def loss(x):
            return loss_fn(x, wide_targets, **kwargs)

        check_grads(
            jax.jit(loss), (logits.astype(jnp.float64),), order=2, modes=["rev"]
        )


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_dice_half_precision(dtype):
    logits, targets = random_masks(15)
    loss = losses.dice_loss(logits.astype(dtype), targets.astype(dtype))
    assert loss.dtype == dtype
    expected = losses.dice_loss(logits.astype(dtype).astype(jnp.float32), targets)
    np.testing.assert_allclose(loss.astype(jnp.float32), expected, rtol=1e-2)


def test_dice_integer_targets():
    logits, targets = random_masks(16)
    np.testing.assert_allclose(
        losses.dice_loss(logits, targets.astype(jnp.int32)),
        losses.dice_loss(logits, targets),
        rtol=1e-6,
    )


def test_overlap_losses_errors():
    logits, targets = random_masks(17)
    with pytest.raises(
        ValueError,
        match=r"predictions has shape \(3, 6, 5, 4\) but targets has shape "
        r"\(3, 6, 4, 4\)",
    ):
        losses.dice_loss(logits, targets[:, :, :4])
    with pytest.raises(
        ValueError, match=r"predictions has shape .* but targets has shape"
    ):
        losses.multiclass_generalized_dice_loss(logits, targets[..., :3])
    with pytest.raises(ValueError, match=r"class_weights has shape \(3,\).*4 classes"):
        losses.jaccard_loss(logits, targets, class_weights=jnp.ones(3))
    with pytest.raises(ValueError, match=r"reduction='max'.*'mean', 'sum', 'none'"):
        losses.dice_loss(logits, targets, reduction="max")


def test_overlap_losses_empty_batch():
    logits, targets = random_masks(18, (0, 4, 4, 3))
    assert losses.dice_loss(logits, targets).shape == (0,)
    assert losses.jaccard_loss(logits, targets, reduction="none").shape == (0, 3)
    assert losses.binary_dice_loss(logits[..., 0], targets[..., 0]).shape == (0,)
