"""Bounding-box regression losses built on intersection over union (IoU).

The formulas are those of ``generalized_box_iou_loss``,
``distance_box_iou_loss`` and ``complete_box_iou_loss`` in torchvision's
``ops`` package, so the values agree with torchvision for boxes with
``x1 <= x2`` and ``y1 <= y2``.
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optgrad.losses import _input_checks as checks

BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


class _Corners(NamedTuple):
    """Box corners, each shaped like the boxes without their last axis."""

    x1: jax.Array
    y1: jax.Array
    x2: jax.Array
    y2: jax.Array


class _Overlap(NamedTuple):
    """Quantities that the IoU losses share."""

    predicted: _Corners
    target: _Corners
    iou: jax.Array  # intersection / (union + eps)
    union: jax.Array
    enclosing_width: jax.Array  # Of the smallest box that contains both boxes.
    enclosing_height: jax.Array


def _to_corners(boxes, box_format):
    first, second, third, fourth = (boxes[..., i] for i in range(4))
    if box_format == "xyxy":
        return _Corners(first, second, third, fourth)
    if box_format == "xywh":
        return _Corners(first, second, first + third, second + fourth)
    half_width, half_height = third / 2, fourth / 2
    return _Corners(
        first - half_width,
        second - half_height,
        first + half_width,
        second + half_height,
    )


def _clamp_size(size):
    """Return a width or height, or 0 where it is negative (an inverted box).

    The gradient at exactly 0 is that of the size itself, so an empty box
    can still grow.
    """
    return jnp.where(size >= 0, size, jnp.zeros_like(size))


def _area(corners):
    return _clamp_size(corners.x2 - corners.x1) * _clamp_size(corners.y2 - corners.y1)


def _overlap(call, boxes, target_boxes, box_format, eps):
    """Check the inputs and compute what every IoU loss needs.

    Returns the ``_Overlap``, the ``eps`` array and the result dtype.
    """
    if box_format not in BOX_FORMATS:
        raise ValueError(
            f"{call}(box_format={box_format!r}) is not a known box format; use one "
            f"of {', '.join(repr(name) for name in BOX_FORMATS)}."
        )
    for name, value in (("boxes", boxes), ("target_boxes", target_boxes)):
        shape = np.shape(value)
        if shape[-1:] != (4,):
            raise ValueError(
                f"{call}: {name} has shape {shape}; boxes need a last axis of size 4 "
                f"holding the coordinates in {box_format!r} format."
            )
    checks.check_same_shape(call, ("boxes", boxes), ("target_boxes", target_boxes))

    result_dtype = checks.output_dtype(jnp.result_type(boxes))
    dtype = checks.compute_dtype(jnp.result_type(boxes))
    eps = checks.scalar_as(eps, dtype)
    predicted = _to_corners(jnp.asarray(boxes).astype(dtype), box_format)
    target = _to_corners(jnp.asarray(target_boxes).astype(dtype), box_format)

    inner_width = jnp.minimum(predicted.x2, target.x2) - jnp.maximum(
        predicted.x1, target.x1
    )
    inner_height = jnp.minimum(predicted.y2, target.y2) - jnp.maximum(
        predicted.y1, target.y1
    )
    # torchvision tests > 0; with >= the values are the same, and a box of
    # zero width or height inside the target gets the gradient that grows it.
    overlapping = (inner_width >= 0) & (inner_height >= 0)
    intersection = jnp.where(
        overlapping, inner_width * inner_height, jnp.zeros_like(inner_width)
    )
    # torchvision uses the signed area, which is negative for an inverted
    # box and can make union + eps zero. An inverted box counts as empty
    # here, so the union is never negative. Other boxes keep their area.
    union = _area(predicted) + _area(target) - intersection

    overlap = _Overlap(
        predicted=predicted,
        target=target,
        iou=intersection / (union + eps),
        union=union,
        enclosing_width=jnp.maximum(predicted.x2, target.x2)
        - jnp.minimum(predicted.x1, target.x1),
        enclosing_height=jnp.maximum(predicted.y2, target.y2)
        - jnp.minimum(predicted.y1, target.y1),
    )
    return overlap, eps, result_dtype


def _distance_penalty(overlap, eps):
    """Return the squared distance of the centres over the squared diagonal
    of the enclosing box (plus ``eps``)."""
    predicted, target = overlap.predicted, overlap.target
    diagonal = overlap.enclosing_width**2 + overlap.enclosing_height**2 + eps
    centre_dx = (predicted.x1 + predicted.x2 - target.x1 - target.x2) / 2
    centre_dy = (predicted.y1 + predicted.y2 - target.y1 - target.y2) / 2
    return (centre_dx**2 + centre_dy**2) / diagonal


def _aspect_angle(width, height):
    """Return atan(width / height), and its limit sign(width) * pi / 2 where
    the height is 0, with a finite gradient everywhere."""
    flat = height == 0
    safe_height = jnp.where(flat, jnp.ones_like(height), height)
    upright = jnp.sign(width) * jnp.asarray(math.pi / 2, width.dtype)
    return jnp.where(flat, upright, jnp.arctan(width / safe_height))


def box_iou_loss(
    boxes: jax.typing.ArrayLike,
    target_boxes: jax.typing.ArrayLike,
    *,
    box_format: str = "xyxy",
    eps: float = 1e-7,
) -> jax.Array:
    """Compute ``1 - IoU`` for each pair of boxes, with
    ``IoU = intersection / (union + eps)``.

    Boxes that do not overlap have a loss of 1 and no gradient; the
    generalised, distance and complete variants keep a gradient there.

    Args:
        boxes: Predicted boxes, shape ``[..., 4]``.
        target_boxes: Target boxes of the same shape.
        box_format: ``"xyxy"`` for corners ``(x1, y1, x2, y2)``, ``"xywh"``
            for ``(x1, y1, width, height)``, ``"cxcywh"`` for
            ``(centre x, centre y, width, height)``.
        eps: Added to the denominators, as in torchvision. With ``eps=0``
            two empty boxes give NaN.

    Returns:
        The loss of each pair of boxes, shape ``[...]``, in the dtype of
        ``boxes`` (float32 for integer boxes).

    Raises:
        ValueError: If a last axis is not 4, the shapes differ, or
            ``box_format`` is unknown.

    Notes:
        A box with ``x2 < x1`` or ``y2 < y1`` counts as empty in the union
        (torchvision uses its negative signed area), so every loss stays
        finite with a finite gradient. With ``eps`` in the denominator,
        identical boxes of area ``A`` give ``eps / (A + eps)`` instead of 0.
    """
    call = "box_iou_loss"
    overlap, _, result_dtype = _overlap(call, boxes, target_boxes, box_format, eps)
    return (1 - overlap.iou).astype(result_dtype)


def generalized_box_iou_loss(
    boxes: jax.typing.ArrayLike,
    target_boxes: jax.typing.ArrayLike,
    *,
    box_format: str = "xyxy",
    eps: float = 1e-7,
) -> jax.Array:
    """Compute the generalised IoU loss for each pair of boxes.

    With ``C`` the area of the smallest box enclosing both boxes, the loss
    is ``1 - IoU + (C - union) / (C + eps)``, between 0 and 2.

    The arguments, shapes and errors are those of ``box_iou_loss``.

    Notes:
        Inverted boxes count as empty, as in ``box_iou_loss``.

    References:
        Rezatofighi et al., "Generalized Intersection over Union: A Metric
        and A Loss for Bounding Box Regression", CVPR 2019.
        https://arxiv.org/abs/1902.09630
    """
    call = "generalized_box_iou_loss"
    overlap, eps, result_dtype = _overlap(call, boxes, target_boxes, box_format, eps)
    enclosing_area = _clamp_size(overlap.enclosing_width) * _clamp_size(
        overlap.enclosing_height
    )
    penalty = (enclosing_area - overlap.union) / (enclosing_area + eps)
    return (1 - overlap.iou + penalty).astype(result_dtype)


def distance_box_iou_loss(
    boxes: jax.typing.ArrayLike,
    target_boxes: jax.typing.ArrayLike,
    *,
    box_format: str = "xyxy",
    eps: float = 1e-7,
) -> jax.Array:
    """Compute the distance IoU loss for each pair of boxes.

    The loss is ``1 - IoU + d**2 / (c**2 + eps)``, where ``d`` is the
    distance between the box centres and ``c`` the diagonal of the smallest
    box enclosing both.

    The arguments, shapes and errors are those of ``box_iou_loss``.

    References:
        Zheng et al., "Distance-IoU Loss: Faster and Better Learning for
        Bounding Box Regression", AAAI 2020. https://arxiv.org/abs/1911.08287
    """
    call = "distance_box_iou_loss"
    overlap, eps, result_dtype = _overlap(call, boxes, target_boxes, box_format, eps)
    loss = 1 - overlap.iou + _distance_penalty(overlap, eps)
    return loss.astype(result_dtype)


def complete_box_iou_loss(
    boxes: jax.typing.ArrayLike,
    target_boxes: jax.typing.ArrayLike,
    *,
    box_format: str = "xyxy",
    eps: float = 1e-7,
) -> jax.Array:
    """Compute the complete IoU loss for each pair of boxes.

    The distance IoU loss plus ``a * v``, where
    ``v = 4 / pi**2 * (atan(w_t / h_t) - atan(w / h))**2`` compares the
    aspect ratios and ``a = v / (1 - IoU + v + eps)`` is held constant in
    the gradient, as in torchvision.

    The arguments, shapes and errors are those of ``box_iou_loss``.

    Notes:
        Where a height is 0, ``atan(w / h)`` takes its limit
        ``sign(w) * pi / 2`` with a zero gradient, where torchvision returns
        NaN for a box of zero width and height.

    References:
        Zheng et al., "Enhancing Geometric Factors in Model Learning and
        Inference for Object Detection and Instance Segmentation", 2021.
        https://arxiv.org/abs/2005.03572
    """
    call = "complete_box_iou_loss"
    overlap, eps, result_dtype = _overlap(call, boxes, target_boxes, box_format, eps)
    predicted, target = overlap.predicted, overlap.target
    angle_gap = _aspect_angle(target.x2 - target.x1, target.y2 - target.y1) - (
        _aspect_angle(predicted.x2 - predicted.x1, predicted.y2 - predicted.y1)
    )
    aspect = jnp.asarray(4 / math.pi**2, angle_gap.dtype) * angle_gap**2
    # The denominator is at least eps because the IoU is below 1; with
    # eps = 0 it is 0 for identical boxes, whose aspect term is 0 too.
    denominator = 1 - overlap.iou + aspect + eps
    denominator = jnp.where(denominator > 0, denominator, jnp.ones_like(denominator))
    trade_off = jax.lax.stop_gradient(aspect / denominator)
    loss = 1 - overlap.iou + _distance_penalty(overlap, eps) + trade_off * aspect
    return loss.astype(result_dtype)
