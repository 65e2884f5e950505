"""Tests of the sequence losses: CTC and padded token cross-entropy."""

import itertools

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

import optgrad
from optgrad import losses

# Jitted once per shape: op-by-op dispatch of the eager functions is slow.
ctc = jax.jit(losses.ctc_loss, static_argnames=("blank_id", "zero_infinity"))
ctc_with_probs = jax.jit(
    losses.ctc_loss_with_forward_probs, static_argnames=("blank_id", "zero_infinity")
)
sequence_ce = jax.jit(losses.sequence_cross_entropy)

# ---------------------------------------------------------------------------
# NumPy references.


def ctc_reference(logits, labels, blank=0):
    """Return the CTC negative log-likelihood of one sequence in float64.

    ``logits`` is (frames, classes) holding only the real frames and
    ``labels`` a list holding only the real labels. The alignment states are
    the labels with a blank before, between and after them. In each frame a
    state is kept, advanced by one, or advanced by two when that skips a
    blank between two different labels:

        alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1),
                               [alpha_{t-1}(s-2)]) + log p_t(state s)
        loss = -logsumexp(alpha_T(last), alpha_T(last - 1))
    """
    logits = np.asarray(logits, np.float64)
    logprobs = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    states = [blank]
    for label in labels:
        states += [label, blank]
    alpha = np.full(len(states), -np.inf)
    alpha[0] = 0.0  # Before the first frame, in the first blank.
    alpha_before = np.full(len(states), -np.inf)
    alpha_before[0] = 0.0
    for t in range(logprobs.shape[0]):
        new = np.full(len(states), -np.inf)
        for s, symbol in enumerate(states):
            if t == 0:
                terms = [alpha_before[s], alpha_before[s - 1] if s >= 1 else -np.inf]
            else:
                terms = [alpha[s]]
                if s >= 1:
                    terms.append(alpha[s - 1])
                if s >= 2 and symbol != blank and symbol != states[s - 2]:
                    terms.append(alpha[s - 2])
            new[s] = np.logaddexp.reduce(terms) + logprobs[t, symbol]
        alpha = new
    if logprobs.shape[0] == 0:
        alpha = alpha_before
    if len(states) == 1:
        return -alpha[0]
    return -np.logaddexp(alpha[-1], alpha[-2])


def frames_needed(labels):
    """Return the frames a label list needs: one per label, plus one blank
    between each pair of equal neighbours."""
    repeats = sum(a == b for a, b in itertools.pairwise(labels))
    return len(labels) + repeats


def random_ctc_batch(seed, batch=5, frames=10, classes=6, positions=4, blank=0):
    """Return float32 inputs with ragged lengths and forced repeats, and the
    per-sequence real labels and frame counts."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(batch, frames, classes)).astype(np.float32) * 2
    choices = [c for c in range(classes) if c != blank]
    labels = rng.choice(choices, size=(batch, positions))
    labels[0, 1] = labels[0, 0]  # A repeated label.
    labels[1, 2:] = labels[1, 1]  # A run of three.
    label_lengths = np.array([positions, positions, 2, 0, 1][:batch])
    frame_counts = np.array([frames, frames - 1, 5, 3, frames][:batch])
    label_paddings = (np.arange(positions)[None] >= label_lengths[:, None]).astype(
        np.float32
    )
    frame_paddings = (np.arange(frames)[None] >= frame_counts[:, None]).astype(
        np.float32
    )
    real_labels = [list(labels[b, : label_lengths[b]]) for b in range(batch)]
    arrays = (logits, frame_paddings, labels.astype(np.int32), label_paddings)
    return tuple(jnp.asarray(x) for x in arrays), real_labels, frame_counts


def summed(fn, **kwargs):
    """Return a function of the logits giving ``fn``'s loss summed over the batch."""

    def total(logits, *rest):
        return jnp.sum(fn(logits, *rest, **kwargs))

    return total


# ---------------------------------------------------------------------------
# CTC against the NumPy reference and PyTorch.


@pytest.mark.parametrize("blank", [0, 3])
def test_ctc_matches_numpy_reference(blank):
    inputs, real_labels, frame_counts = random_ctc_batch(1, blank=blank)
    loss = ctc(*inputs, blank_id=blank)
    for b, labels in enumerate(real_labels):
        expected = ctc_reference(inputs[0][b, : frame_counts[b]], labels, blank)
        np.testing.assert_allclose(loss[b], expected, rtol=1e-5, err_msg=f"seq {b}")


def test_ctc_padded_frames_anywhere_are_skipped():
    inputs, real_labels, _ = random_ctc_batch(2, batch=2)
    logits = inputs[0]
    frame_paddings = jnp.zeros((2, 10)).at[0, jnp.array([0, 4, 5])].set(1.0)
    loss = ctc(logits, frame_paddings, inputs[2], inputs[3])
    kept = np.array([1, 2, 3, 6, 7, 8, 9])
    expected = ctc_reference(np.asarray(logits)[0, kept], real_labels[0])
    np.testing.assert_allclose(loss[0], expected, rtol=1e-5)


# Computed with torch 2.13.0 torch.nn.functional.ctc_loss(reduction="none")
# in float64, on log_softmax(TORCH_LOGITS) transposed to (frames, batch,
# classes), input_lengths=TORCH_FRAMES, target_lengths=TORCH_LABEL_LENGTHS
# and the labels below. The last sequence needs 4 frames and has 3, so
# torch returns inf (0 with zero_infinity=True).
TORCH_LOGITS = 3.0 * np.sin(0.37 * np.arange(4 * 8 * 5)).reshape(4, 8, 5)
TORCH_FRAMES = np.array([8, 6, 8, 3])
TORCH_LABEL_LENGTHS = np.array([4, 3, 2, 4])
TORCH_CASES = {
    0: (
        [[1, 2, 2, 3], [4, 4, 1, 0], [3, 1, 0, 0], [2, 3, 4, 1]],
        [9.910815944066746, 8.905964019358551, 10.469197438437359, np.inf],
    ),
    2: (
        [[1, 0, 0, 3], [4, 4, 1, 0], [3, 1, 0, 0], [0, 3, 4, 1]],
        [8.313803727504489, 10.629449980186825, 10.844787145894312, np.inf],
    ),
}
# The gradient of the zero_infinity=True sum with respect to the logits of
# sequence 0, frame 0, from the same torch call with blank=0.
TORCH_GRAD_SEQ0_FRAME0 = [
    -0.12705977270271687,
    -0.7869627056120914,
    0.1641797637730149,
    0.3190010104215652,
    0.4308417041202281,
]


def torch_case_inputs(blank):
    labels, _ = TORCH_CASES[blank]
    frame_paddings = np.arange(8)[None] >= TORCH_FRAMES[:, None]
    label_paddings = np.arange(4)[None] >= TORCH_LABEL_LENGTHS[:, None]
    return (
        jnp.asarray(TORCH_LOGITS, jnp.float32),
        jnp.asarray(frame_paddings, jnp.float32),
        jnp.asarray(labels, jnp.int32),
        jnp.asarray(label_paddings, jnp.float32),
    )


@pytest.mark.parametrize("blank", [0, 2])
def test_ctc_matches_pytorch(blank):
    inputs = torch_case_inputs(blank)
    _, expected = TORCH_CASES[blank]
    loss = ctc(*inputs, blank_id=blank)
    np.testing.assert_allclose(loss[:3], expected[:3], rtol=1e-5)
    assert loss[3] == 1e5
    zeroed = ctc(*inputs, blank_id=blank, zero_infinity=True)
    np.testing.assert_allclose(zeroed[:3], expected[:3], rtol=1e-5)
    assert zeroed[3] == 0.0


def test_ctc_gradient_matches_pytorch():
    inputs = torch_case_inputs(0)
    grad = jax.jit(jax.grad(summed(losses.ctc_loss, zero_infinity=True)))(*inputs)
    np.testing.assert_allclose(grad[0, 0], TORCH_GRAD_SEQ0_FRAME0, atol=1e-5)
    np.testing.assert_array_equal(grad[3], 0.0)


# ---------------------------------------------------------------------------
# CTC against optax 0.2.8.


def possible_batch(seed):
    """Return a random batch in which every alignment is possible."""
    inputs, real_labels, frame_counts = random_ctc_batch(seed)
    for labels, count in zip(real_labels, frame_counts, strict=True):
        assert frames_needed(labels) <= count
    return inputs


@pytest.mark.parametrize("log_epsilon", [-1e5, -3.0])
def test_ctc_forward_probs_match_optax(log_epsilon):
    inputs = possible_batch(3)
    ours = ctc_with_probs(*inputs, log_epsilon=log_epsilon)
    with helpers.reference_mode():
        theirs = jax.jit(optax.ctc_loss_with_forward_probs)(
            *inputs, log_epsilon=log_epsilon
        )
    for name, a, b in zip(("loss", "blank", "nonblank"), ours, theirs, strict=True):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-5, err_msg=name)


@pytest.mark.parametrize("log_epsilon", [-1e5, -3.0])
def test_ctc_gradient_matches_optax(log_epsilon):
    inputs = possible_batch(4)
    ours = jax.jit(jax.value_and_grad(summed(losses.ctc_loss, log_epsilon=log_epsilon)))
    ours_forward = jax.jit(
        jax.grad(lambda *a: jnp.sum(ctc_with_probs(*a, log_epsilon=log_epsilon)[0]))
    )
    with helpers.reference_mode():
        theirs = jax.jit(
            jax.value_and_grad(summed(optax.ctc_loss, log_epsilon=log_epsilon))
        )(*inputs)
    value, grad = ours(*inputs)
    np.testing.assert_allclose(value, theirs[0], rtol=1e-5)
    np.testing.assert_allclose(grad, theirs[1], atol=1e-5)
    np.testing.assert_allclose(ours_forward(*inputs), theirs[1], atol=1e-5)


def test_ctc_vmap_matches_loop():
    first, second = possible_batch(3), possible_batch(4)
    stacked = [jnp.stack(pair) for pair in zip(first, second, strict=True)]
    batched = jax.jit(jax.vmap(losses.ctc_loss))(*stacked)
    np.testing.assert_allclose(batched[0], ctc(*first), rtol=1e-6)
    np.testing.assert_allclose(batched[1], ctc(*second), rtol=1e-6)
    grads = jax.jit(jax.vmap(jax.grad(summed(losses.ctc_loss))))(*stacked)
    np.testing.assert_allclose(
        grads[1], jax.jit(jax.grad(summed(losses.ctc_loss)))(*second), atol=1e-6
    )


def test_ctc_check_grads():
    # float64, so that finite differences are accurate; the batch mixes
    # repeats, padded frames and an empty label sequence.
    inputs, _, _ = random_ctc_batch(5, batch=3, frames=6, classes=4, positions=3)
    with jax.enable_x64(True):
        logits = inputs[0].astype(jnp.float64)

        def loss(x):
            return ctc(x, *inputs[1:])

        check_grads(loss, (logits,), order=2, modes=["rev"])
        check_grads(loss, (logits,), order=1, modes=["fwd"])


# ---------------------------------------------------------------------------
# CTC edge cases.


def test_ctc_repeated_labels_need_a_blank():
    # [1, 1] needs three frames: 1, blank, 1.
    logits = jnp.zeros((2, 3, 3))
    labels = jnp.array([[1, 1], [1, 2]])
    paddings = jnp.zeros((2, 2))
    two_frames = jnp.zeros((2, 3)).at[:, 2].set(1.0)
    loss = losses.ctc_loss(logits, two_frames, labels, paddings)
    assert loss[0] == 1e5
    # [1, 2] in two frames has one alignment, probability (1/3)**2.
    np.testing.assert_allclose(loss[1], 2 * np.log(3), rtol=1e-6)
    three_frames = losses.ctc_loss(logits, jnp.zeros((2, 3)), labels, paddings)
    # Only "1 blank 1" spells [1, 1] in three frames.
    np.testing.assert_allclose(three_frames[0], 3 * np.log(3), rtol=1e-6)


def test_ctc_confident_alignment_is_not_negative():
    # optax 0.2.8 returns about -4e-9 here.
    logits = jnp.full((1, 3, 3), -10.0).at[0, :, 1].set(10.0)
    loss = ctc(logits, jnp.zeros((1, 3)), jnp.array([[1]]), jnp.zeros((1, 1)))
    assert loss[0] >= 0.0
    np.testing.assert_allclose(loss[0], 0.0, atol=1e-6)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_impossible_alignment_floor(zero_infinity):
    inputs, _, _ = random_ctc_batch(6, batch=2)
    # Four labels in three frames.
    frame_paddings = jnp.zeros((2, 10)).at[0, 3:].set(1.0)
    inputs = (inputs[0], frame_paddings, inputs[2], jnp.zeros((2, 4)))
    loss_fn = jax.jit(
        jax.value_and_grad(summed(losses.ctc_loss, zero_infinity=zero_infinity))
    )
    total, grad = loss_fn(*inputs)
    per_sequence = ctc(*inputs, zero_infinity=zero_infinity)
    assert per_sequence[0] == (0.0 if zero_infinity else 1e5)
    np.testing.assert_array_equal(grad[0], 0.0)
    assert np.all(np.isfinite(grad[1]))
    assert np.any(grad[1] != 0.0)
    np.testing.assert_allclose(total, per_sequence.sum(), rtol=1e-6)
    forward_loss = ctc_with_probs(*inputs, zero_infinity=zero_infinity)[0]
    np.testing.assert_array_equal(forward_loss[0], per_sequence[0])
    forward_grad = jax.jit(
        jax.grad(
            lambda *a: jnp.sum(
                losses.ctc_loss_with_forward_probs(*a, zero_infinity=zero_infinity)[0]
            )
        )
    )(*inputs)
    np.testing.assert_array_equal(forward_grad[0], 0.0)


def test_ctc_custom_log_epsilon_sets_floor():
    logits = jnp.zeros((1, 1, 3))
    loss = ctc(
        logits,
        jnp.zeros((1, 1)),
        jnp.array([[1, 2]]),
        jnp.zeros((1, 2)),
        log_epsilon=-50.0,
    )
    assert loss[0] == 50.0


def test_ctc_extreme_logits_are_finite():
    inputs = possible_batch(7)
    logits = jnp.where(inputs[0] > 0, 1e4, -1e4)
    value, grad = jax.jit(jax.value_and_grad(summed(losses.ctc_loss)))(
        logits, *inputs[1:]
    )
    assert np.isfinite(value)
    assert np.all(np.isfinite(grad))


def test_ctc_masked_class_is_finite():
    # Class 5 never appears in the labels; a -inf logit masks it out.
    inputs = possible_batch(8)
    logits = inputs[0].at[:, :, 5].set(-jnp.inf)
    labels = jnp.where(inputs[2] == 5, 1, inputs[2])
    args = (logits, inputs[1], labels, inputs[3])
    value, grad = jax.jit(jax.value_and_grad(summed(losses.ctc_loss)))(*args)
    assert np.isfinite(value)
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad[:, :, 5], 0.0)


def test_ctc_bad_label_is_nan():
    inputs = possible_batch(3)
    labels = inputs[2].at[0, 0].set(6).at[1, 0].set(-1)
    loss = ctc(inputs[0], inputs[1], labels, inputs[3])
    assert np.isnan(loss[0])
    assert np.isnan(loss[1])
    assert np.all(np.isfinite(loss[2:]))


def test_ctc_padded_labels_may_hold_anything():
    inputs = possible_batch(3)
    garbage = jnp.where(inputs[3] > 0, -7, inputs[2])
    np.testing.assert_array_equal(
        ctc(inputs[0], inputs[1], garbage, inputs[3]),
        ctc(*inputs),
    )


def test_ctc_empty_labels_and_frames():
    logits = jnp.asarray(np.random.default_rng(0).normal(size=(2, 4, 3)), jnp.float32)
    no_labels = ctc(
        logits, jnp.zeros((2, 4)), jnp.zeros((2, 0), jnp.int32), jnp.zeros((2, 0))
    )
    blank_logprobs = jax.nn.log_softmax(logits)[:, :, 0]
    np.testing.assert_allclose(no_labels, -blank_logprobs.sum(axis=1), rtol=1e-6)

    no_frames = ctc(
        jnp.zeros((2, 0, 3)),
        jnp.zeros((2, 0)),
        jnp.array([[1], [2]]),
        jnp.array([[1.0], [0.0]]),
    )
    np.testing.assert_array_equal(no_frames, [0.0, 1e5])
    _, blank, nonblank = ctc_with_probs(
        jnp.zeros((2, 0, 3)),
        jnp.zeros((2, 0)),
        jnp.array([[1], [2]]),
        jnp.zeros((2, 1)),
    )
    assert blank.shape == (0, 2, 2)
    assert nonblank.shape == (0, 2, 1)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_ctc_half_precision_logits(dtype):
    inputs = possible_batch(3)
    low = (inputs[0].astype(dtype), *inputs[1:])
    loss = ctc(*low)
    assert loss.dtype == jnp.float32
    widened = (low[0].astype(jnp.float32), *inputs[1:])
    np.testing.assert_allclose(loss, ctc(*widened), rtol=1e-6)
    impossible = ctc(low[0], low[1], low[2], jnp.zeros((5, 4)))
    assert np.all(np.isfinite(impossible))


def test_ctc_is_exported_at_top_level():
    assert optgrad.ctc_loss is losses.ctc_loss
    assert optgrad.ctc_loss_with_forward_probs is losses.ctc_loss_with_forward_probs


@pytest.mark.parametrize(
    ("shapes", "message"),
    [
        (
            ((2, 5, 3), (2, 5), (2, 4), (2, 3)),
            r"labels has shape \(2, 4\) but label_paddings has shape \(2, 3\)",
        ),
        (
            ((2, 5, 3), (2, 4), (2, 4), (2, 4)),
            r"logit_paddings has shape \(2, 4\) but logits has shape \(2, 5, 3\)",
        ),
        (
            ((2, 5, 3), (2, 5), (3, 4), (3, 4)),
            r"labels has shape \(3, 4\) but logits has shape \(2, 5, 3\)",
        ),
        (
            ((2, 5), (2, 5), (2, 4), (2, 4)),
            r"logits must have 3 dimensions.*got shape \(2, 5\)",
        ),
    ],
)
def test_ctc_shape_errors(shapes, message):
    logits, frame_paddings, labels, label_paddings = (jnp.zeros(s) for s in shapes)
    with pytest.raises(ValueError, match=message):
        losses.ctc_loss(
            logits, frame_paddings, labels.astype(jnp.int32), label_paddings
        )


def test_ctc_blank_id_errors():
    inputs = possible_batch(3)
    with pytest.raises(ValueError, match=r"blank_id=6.*6 classes.*\[0, 6\)"):
        losses.ctc_loss(*inputs, blank_id=6)
    with pytest.raises(TypeError, match="blank_id"):
        losses.ctc_loss(*inputs, blank_id=1.0)


# ---------------------------------------------------------------------------
# sequence_cross_entropy.


def sequence_cross_entropy_reference(logits, labels, paddings, smoothing):
    """Return the mean smoothed cross-entropy over each sequence's real tokens.

    Per token, with K classes: (1 - e) * (-log p[y]) + e / K * sum_k -log p[k].
    A sequence without real tokens gives 0.
    """
    logits = np.asarray(logits, np.float64)
    logprobs = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    token = -np.take_along_axis(logprobs, np.asarray(labels)[..., None], axis=-1)[
        ..., 0
    ]
    token = (1 - smoothing) * token + smoothing * -logprobs.mean(axis=-1)
    real = np.asarray(paddings) == 0
    counts = real.sum(axis=1)
    return np.where(counts > 0, (token * real).sum(axis=1) / np.maximum(counts, 1), 0.0)


def random_token_batch(seed, batch=4, tokens=7, classes=5):
    rng = np.random.default_rng(seed)
    logits = jnp.asarray(rng.normal(size=(batch, tokens, classes)) * 3, jnp.float32)
    labels = jnp.asarray(rng.integers(0, classes, size=(batch, tokens)), jnp.int32)
    lengths = np.array([tokens, 3, 0, 1][:batch])
    paddings = jnp.asarray(np.arange(tokens)[None] >= lengths[:, None], jnp.float32)
    return logits, labels, paddings


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
def test_sequence_ce_matches_reference(smoothing):
    logits, labels, paddings = random_token_batch(0)
    loss = sequence_ce(logits, labels, paddings, label_smoothing=smoothing)
    expected = sequence_cross_entropy_reference(logits, labels, paddings, smoothing)
    np.testing.assert_allclose(loss, expected, rtol=1e-6, atol=1e-7)


# From torch 2.13.0 torch.nn.functional.cross_entropy(logits[b, :n],
# labels[b, :n], label_smoothing=e) in float64, with the inputs below and n
# the real length of each sequence.
TORCH_CE_LOGITS = 2.0 * np.cos(0.53 * np.arange(2 * 5 * 6)).reshape(2, 5, 6)
TORCH_CE_LABELS = np.array([[0, 5, 2, 2, 1], [3, 3, 4, 0, 0]])
TORCH_CE_LENGTHS = np.array([5, 3])
TORCH_CE_VALUES = {
    0.0: [1.557809024646462, 2.1565685340798435],
    0.1: [1.6619275465707821, 2.2033805804419266],
}


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_sequence_ce_matches_pytorch(smoothing):
    paddings = np.arange(5)[None] >= TORCH_CE_LENGTHS[:, None]
    loss = sequence_ce(
        jnp.asarray(TORCH_CE_LOGITS, jnp.float32),
        jnp.asarray(TORCH_CE_LABELS),
        jnp.asarray(paddings, jnp.float32),
        label_smoothing=smoothing,
    )
    np.testing.assert_allclose(loss, TORCH_CE_VALUES[smoothing], rtol=1e-6)


def test_sequence_ce_traced_smoothing():
    logits, labels, paddings = random_token_batch(1)
    loss = jax.jit(lambda s: sequence_ce(logits, labels, paddings, label_smoothing=s))(
        jnp.float32(0.2)
    )
    expected = sequence_cross_entropy_reference(logits, labels, paddings, 0.2)
    np.testing.assert_allclose(loss, expected, rtol=1e-6, atol=1e-7)


def test_sequence_ce_fully_padded_is_zero():
    logits, labels, paddings = random_token_batch(2)
    # Sequence 2 is fully padded; NaN and inf logits there must not leak.
    logits = logits.at[2, 0].set(jnp.nan).at[2, 1, 0].set(jnp.inf)
    labels = labels.at[2].set(-1)

    def total(x):
        return jnp.sum(sequence_ce(x, labels, paddings, label_smoothing=0.1))

    loss = sequence_ce(logits, labels, paddings, label_smoothing=0.1)
    grad = jax.jit(jax.grad(total))(logits)
    assert loss[2] == 0.0
    np.testing.assert_array_equal(grad[2], 0.0)
    assert np.all(np.isfinite(loss))
    assert np.all(np.isfinite(grad))
    # The padded tail of sequence 1 gets no gradient either.
    np.testing.assert_array_equal(grad[1, 3:], 0.0)


def test_sequence_ce_extreme_logits():
    logits, labels, paddings = random_token_batch(3)
    logits = jnp.where(logits > 0, 1e4, -1e4)
    value, grad = jax.jit(
        jax.value_and_grad(
            lambda x: jnp.sum(sequence_ce(x, labels, paddings, label_smoothing=0.1))
        )
    )(logits)
    assert np.isfinite(value)
    assert np.all(np.isfinite(grad))


def test_sequence_ce_bad_label_is_nan():
    logits, labels, paddings = random_token_batch(4)
    loss = sequence_ce(logits, labels.at[0, 0].set(5), paddings)
    assert np.isnan(loss[0])
    assert np.all(np.isfinite(loss[1:]))


def test_sequence_ce_vmap_and_check_grads():
    logits, labels, paddings = random_token_batch(5)
    batched = jax.jit(jax.vmap(losses.sequence_cross_entropy))(
        logits[:, None], labels[:, None], paddings[:, None]
    )
    np.testing.assert_allclose(
        batched[:, 0],
        sequence_ce(logits, labels, paddings),
        rtol=1e-6,
    )
    with jax.enable_x64(True):
        wide = logits.astype(jnp.float64)
        check_grads(
            lambda x: sequence_ce(x, labels, paddings, label_smoothing=0.2),
            (wide,),
            order=2,
            modes=["rev"],
        )


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_sequence_ce_half_precision(dtype):
    logits, labels, paddings = random_token_batch(6)
    low = logits.astype(dtype)
    loss = sequence_ce(low, labels, paddings)
    assert loss.dtype == dtype
    expected = sequence_cross_entropy_reference(
        low.astype(jnp.float32), labels, paddings, 0.0
    )
    np.testing.assert_allclose(loss.astype(jnp.float32), expected, rtol=1e-2)


def test_sequence_ce_errors():
    logits, labels, paddings = random_token_batch(7)
    with pytest.raises(
        ValueError, match=r"logits has shape \(4, 7, 5\) but labels has shape \(4, 6\)"
    ):
        losses.sequence_cross_entropy(logits, labels[:, :6], paddings[:, :6])
    with pytest.raises(
        ValueError,
        match=r"labels has shape \(4, 7\) but label_paddings has shape \(4, 6\)",
    ):
        losses.sequence_cross_entropy(logits, labels, paddings[:, :6])
    with pytest.raises(ValueError, match=r"label_smoothing=1.5.*\[0, 1\]"):
        losses.sequence_cross_entropy(logits, labels, paddings, label_smoothing=1.5)


def test_sequence_ce_zero_tokens():
    logits = jnp.zeros((2, 0, 5))
    labels = jnp.zeros((2, 0), jnp.int32)
    paddings = jnp.zeros((2, 0))
    loss = losses.sequence_cross_entropy(logits, labels, paddings)
    np.testing.assert_array_equal(loss, [0.0, 0.0])
    empty_batch = losses.sequence_cross_entropy(
        jnp.zeros((0, 3, 5)), jnp.zeros((0, 3), jnp.int32), jnp.zeros((0, 3))
    )
    assert empty_batch.shape == (0,)
