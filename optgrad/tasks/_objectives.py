"""Losses and metrics of the built-in tasks, as functions of ``(model, batch)``.

Losses are the means over the batch of ``optgrad.losses`` functions. Metrics
are means over the batch too, except ``r2``, which needs the whole split at
once (``fit`` and ``evaluate`` pass it whole unless given an
``eval_batch_size``).
"""

import importlib
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp


def _losses() -> ModuleType:
    """Return ``optgrad.losses``, imported when a task's loss is first traced."""
    return importlib.import_module("optgrad.losses")


def softmax_cross_entropy(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Mean cross-entropy of the logits ``model(x)`` and integer labels ``y``."""
    logits = model(batch["x"])
    return jnp.mean(
        _losses().softmax_cross_entropy_with_integer_labels(logits, batch["y"])
    )


def sigmoid_binary_cross_entropy(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Mean binary cross-entropy of one logit per example and 0/1 labels ``y``."""
    logits = model(batch["x"])[:, 0]
    return jnp.mean(_losses().sigmoid_binary_cross_entropy(logits, batch["y"]))


def mean_squared_error(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Mean squared difference of one prediction per example and ``y``."""
    return jnp.mean(_losses().squared_error(model(batch["x"])[:, 0], batch["y"]))


def mean_absolute_error(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Mean absolute difference of one prediction per example and ``y``."""
    return jnp.mean(_losses().absolute_error(model(batch["x"])[:, 0], batch["y"]))


def ctc(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Mean CTC loss of per-column scores against the padded digit labels."""
    logits = model(batch["x"])
    logit_paddings = jnp.zeros(logits.shape[:2], logits.dtype)
    per_string = _losses().ctc_loss(
        logits, logit_paddings, batch["labels"], batch["label_paddings"]
    )
    return jnp.mean(per_string)


def generalized_box_iou(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Mean generalized IoU loss of the predicted and the true boxes."""
    return jnp.mean(
        _losses().generalized_box_iou_loss(model(batch["x"]), batch["boxes"])
    )


def dice(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Mean soft Dice loss of the per-pixel logits against the masks."""
    return jnp.mean(_losses().binary_dice_loss(model(batch["x"]), batch["masks"]))


def accuracy(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Fraction of examples whose largest logit is the label."""
    predicted = jnp.argmax(model(batch["x"]), axis=-1)
    return jnp.mean((predicted == batch["y"]).astype(jnp.float32))


def binary_accuracy(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Fraction of examples whose logit has the sign of the 0/1 label."""
    predicted = model(batch["x"])[:, 0] > 0
    return jnp.mean((predicted == (batch["y"] > 0.5)).astype(jnp.float32))


def r2(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Coefficient of determination of the predictions, over the whole batch.

    It is not a mean over examples, so evaluate it on a whole split.
    """
    predictions = model(batch["x"])[:, 0]
    targets = batch["y"]
    residual = jnp.sum((targets - predictions) ** 2)
    total = jnp.sum((targets - jnp.mean(targets)) ** 2)
    return 1.0 - residual / total


def greedy_ctc_decode(
    scores: jax.Array, max_length: int
) -> tuple[jax.Array, jax.Array]:
    """Decode per-frame scores by best path.

    The best path takes the argmax of each frame, merges repeats and drops
    blanks.

    Args:
        scores: ``[batch, frames, classes]``; class 0 is the blank.
        max_length: The number of decoded labels to return per example.

    Returns:
        The first ``max_length`` decoded labels of each example, padded with
        -1, and the full number of decoded labels of each example.
    """
    best = jnp.argmax(scores, axis=-1)
    previous = jnp.pad(best[:, :-1], ((0, 0), (1, 0)), constant_values=-1)
    keep = (best != 0) & (best != previous)
    frames = best.shape[1]
    # Each kept label goes to its rank among the kept labels; the others go
    # to the spare last column, which is cut off.
    position = jnp.where(keep, jnp.cumsum(keep, axis=1) - 1, frames)
    rows = jnp.arange(best.shape[0])[:, None]
    decoded = jnp.full((best.shape[0], frames + 1), -1, best.dtype)
    decoded = decoded.at[rows, position].set(best)
    return decoded[:, :max_length], jnp.sum(keep, axis=1)


def sequence_accuracy(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Fraction of digit strings whose greedy CTC decoding is exactly right."""
    labels = batch["labels"]
    is_label = batch["label_paddings"] == 0
    decoded, length = greedy_ctc_decode(model(batch["x"]), labels.shape[1])
    expected = jnp.where(is_label, labels, -1).astype(decoded.dtype)
    exact = jnp.all(decoded == expected, axis=1) & (length == jnp.sum(is_label, axis=1))
    return jnp.mean(exact.astype(jnp.float32))


def box_iou(boxes: jax.Array, targets: jax.Array) -> jax.Array:
    """Intersection over union of ``(x1, y1, x2, y2)`` boxes, per box."""
    top_left = jnp.maximum(boxes[:, :2], targets[:, :2])
    bottom_right = jnp.minimum(boxes[:, 2:], targets[:, 2:])
    overlap = jnp.clip(bottom_right - top_left, 0.0)
    intersection = overlap[:, 0] * overlap[:, 1]

    def area(b):
        return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])

    union = area(boxes) + area(targets) - intersection
    return intersection / jnp.maximum(union, jnp.finfo(union.dtype).tiny)


def mean_iou(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Mean IoU of the predicted and the true boxes."""
    return jnp.mean(box_iou(model(batch["x"]), batch["boxes"]))


def dice_score(model: Any, batch: dict[str, jax.Array]) -> jax.Array:
    """Mean Dice coefficient of the thresholded predicted masks, per image.

    A pixel is predicted as ink when its logit is positive. An image whose
    predicted and true masks are both empty scores 1.
    """
    predicted = (model(batch["x"]) > 0).astype(jnp.float32)
    masks = batch["masks"]
    intersection = jnp.sum(predicted * masks, axis=(1, 2))
    total = jnp.sum(predicted, axis=(1, 2)) + jnp.sum(masks, axis=(1, 2))
    score = jnp.where(total > 0, 2.0 * intersection / jnp.maximum(total, 1.0), 1.0)
    return jnp.mean(score)
