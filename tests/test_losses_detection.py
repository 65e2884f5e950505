"""Tests of the IoU-based box losses against NumPy versions of torchvision's
formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from optgrad import losses

BOX_LOSSES = {
    "iou": losses.box_iou_loss,
    "giou": losses.generalized_box_iou_loss,
    "diou": losses.distance_box_iou_loss,
    "ciou": losses.complete_box_iou_loss,
}


def box_loss_reference(kind, boxes, targets, eps=1e-7):
    """Return a torchvision box loss in float64 for ``xyxy`` boxes with
    x1 <= x2 and y1 <= y2.

        inter = max(0, min(x2, X2) - max(x1, X1)) * max(0, min(y2, Y2) - max(y1, Y1))
        union = area + AREA - inter
        iou   = inter / (union + eps)
        iou loss  = 1 - iou
        giou loss = 1 - iou + (C - union) / (C + eps), C the enclosing box's area
        diou loss = 1 - iou + d^2 / (c^2 + eps), d the distance of the centres
                    and c the enclosing box's diagonal
        ciou loss = diou loss + a v, v = 4 / pi^2 (atan(W / H) - atan(w / h))^2,
                    a = v / (1 - iou + v + eps)
    """
    b = np.asarray(boxes, np.float64)
    t = np.asarray(targets, np.float64)
    x1, y1, x2, y2 = np.moveaxis(b, -1, 0)
    tx1, ty1, tx2, ty2 = np.moveaxis(t, -1, 0)
    inner_w = np.minimum(x2, tx2) - np.maximum(x1, tx1)
    inner_h = np.minimum(y2, ty2) - np.maximum(y1, ty1)
    inter = np.where((inner_w > 0) & (inner_h > 0), inner_w * inner_h, 0.0)
    union = (x2 - x1) * (y2 - y1) + (tx2 - tx1) * (ty2 - ty1) - inter
    iou = inter / (union + eps)
    if kind == "iou":
        return 1 - iou
    cw = np.maximum(x2, tx2) - np.minimum(x1, tx1)
    ch = np.maximum(y2, ty2) - np.minimum(y1, ty1)
    if kind == "giou":
        area_c = cw * ch
        return 1 - iou + (area_c - union) / (area_c + eps)
    centre_distance = ((x1 + x2 - tx1 - tx2) / 2) ** 2 + (
        (y1 + y2 - ty1 - ty2) / 2
    ) ** 2
    diou = 1 - iou + centre_distance / (cw**2 + ch**2 + eps)
    if kind == "diou":
        return diou
    v = (
        4
        / np.pi**2
        * (np.arctan((tx2 - tx1) / (ty2 - ty1)) - np.arctan((x2 - x1) / (y2 - y1))) ** 2
    )
    return diou + v / (1 - iou + v + eps) * v


def random_boxes(seed, count=16):
    """Return two float32 ``xyxy`` arrays of valid boxes, many overlapping."""
    rng = np.random.default_rng(seed)

    def make():
        corner = rng.uniform(0, 4, size=(count, 2))
        size = rng.uniform(0.5, 3, size=(count, 2))
        return np.concatenate([corner, corner + size], axis=-1)

    return jnp.asarray(make(), jnp.float32), jnp.asarray(make(), jnp.float32)


def to_format(boxes, box_format):
    x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
    if box_format == "xywh":
        return jnp.stack([x1, y1, x2 - x1, y2 - y1], axis=-1)
    if box_format == "cxcywh":
        return jnp.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=-1)
    return boxes


@pytest.mark.parametrize("kind", BOX_LOSSES)
def test_box_losses_match_reference(kind):
    boxes, targets = random_boxes(0)
    loss = jax.jit(BOX_LOSSES[kind])(boxes, targets)
    expected = box_loss_reference(kind, boxes, targets)
    assert loss.shape == (16,)
    assert loss.dtype == jnp.float32
    np.testing.assert_allclose(loss, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("box_format", ["xywh", "cxcywh"])
@pytest.mark.parametrize("kind", BOX_LOSSES)
def test_box_formats_agree(kind, box_format):
    boxes, targets = random_boxes(1)
    loss_fn = jax.jit(BOX_LOSSES[kind], static_argnames="box_format")
    converted = loss_fn(
        to_format(boxes, box_format),
        to_format(targets, box_format),
        box_format=box_format,
    )
    np.testing.assert_allclose(converted, loss_fn(boxes, targets), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", BOX_LOSSES)
def test_identical_boxes_give_zero(kind):
    boxes, _ = random_boxes(2)
    loss = BOX_LOSSES[kind](boxes, boxes)
    # eps / (area + eps) remains, below 1e-6 for these areas of at least 0.25.
    np.testing.assert_allclose(loss, 0.0, atol=1e-6)


def test_disjoint_boxes_closed_form():
    # Unit squares two apart: no intersection, union 2, enclosing box 3 x 1
    # with area 3 and squared diagonal 10, centres 2 apart; same aspect.
    boxes = jnp.array([[0.0, 0.0, 1.0, 1.0]])
    targets = jnp.array([[2.0, 0.0, 3.0, 1.0]])
    np.testing.assert_allclose(losses.box_iou_loss(boxes, targets), [1.0])
    np.testing.assert_allclose(
        losses.generalized_box_iou_loss(boxes, targets), [1 + 1 / 3], rtol=1e-6
    )
    np.testing.assert_allclose(
        losses.distance_box_iou_loss(boxes, targets), [1 + 4 / 10], rtol=1e-6
    )
    np.testing.assert_allclose(
        losses.complete_box_iou_loss(boxes, targets), [1 + 4 / 10], rtol=1e-6
    )
    # Generalised IoU keeps pulling disjoint boxes together: moving the box
    # right (x1 and x2 together) lowers the loss, by 1/9 - 1/3.
    grad = jax.grad(lambda b: losses.generalized_box_iou_loss(b, targets).sum())(boxes)
    np.testing.assert_allclose(grad[0, 0] + grad[0, 2], -2 / 9, rtol=1e-5)


DEGENERATE_BOXES = [
    # (boxes, targets): zero width, zero height, a point, both zero-area,
    # inverted in x, inverted in both, identical points.
    ([1.0, 1.0, 1.0, 3.0], [0.0, 0.0, 2.0, 2.0]),
    ([1.0, 1.0, 3.0, 1.0], [0.0, 0.0, 2.0, 2.0]),
    ([1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]),
    ([1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 4.0]),
    ([3.0, 0.0, 1.0, 2.0], [0.0, 0.0, 2.0, 2.0]),
    ([3.0, 3.0, 1.0, 1.0], [2.0, 2.0, 0.0, 0.0]),
    ([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]),
]


@pytest.mark.parametrize("kind", BOX_LOSSES)
def test_degenerate_boxes_are_finite(kind):
    boxes = jnp.array([b for b, _ in DEGENERATE_BOXES])
    targets = jnp.array([t for _, t in DEGENERATE_BOXES])

    def total(b, t):
        return jnp.sum(BOX_LOSSES[kind](b, t))

    value = BOX_LOSSES[kind](boxes, targets)
    grads = jax.jit(jax.grad(total, argnums=(0, 1)))(boxes, targets)
    assert np.all(np.isfinite(value))
    assert np.all(np.isfinite(grads[0]))
    assert np.all(np.isfinite(grads[1]))
    # Every loss stays in its range: IoU-based terms in [0, 1], penalties >= 0.
    assert np.all(value >= 0)
    assert np.all(value <= 3)


@pytest.mark.parametrize("kind", BOX_LOSSES)
def test_zero_width_box_inside_target_can_grow(kind):
    boxes = jnp.array([[1.0, 0.5, 1.0, 1.5]])
    targets = jnp.array([[0.0, 0.0, 2.0, 2.0]])
    grad = jax.grad(lambda b: BOX_LOSSES[kind](b, targets).sum())(boxes)
    # Widening the box (x1 down, x2 up) lowers every loss.
    assert grad[0, 0] > 0
    assert grad[0, 2] < 0


def test_zero_area_boxes_match_reference_where_defined():
    boxes = jnp.array([[1.0, 1.0, 1.0, 3.0], [1.0, 1.0, 3.0, 1.0]])
    targets = jnp.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]])
    for kind in ("iou", "giou", "diou"):
        np.testing.assert_allclose(
            BOX_LOSSES[kind](boxes, targets),
            box_loss_reference(kind, boxes, targets),
            rtol=1e-6,
            err_msg=kind,
        )


@pytest.mark.parametrize("kind", BOX_LOSSES)
def test_box_losses_vmap_and_batch_axes(kind):
    boxes, targets = random_boxes(3)
    grid = boxes.reshape(4, 4, 4), targets.reshape(4, 4, 4)
    loss_fn = BOX_LOSSES[kind]
    flat = loss_fn(boxes, targets)
    np.testing.assert_allclose(loss_fn(*grid), flat.reshape(4, 4), rtol=1e-6)
    np.testing.assert_allclose(
        jax.jit(jax.vmap(loss_fn))(*grid), flat.reshape(4, 4), rtol=1e-6
    )


@pytest.mark.parametrize("kind", ["giou", "diou"])
def test_box_losses_check_grads(kind):
    boxes, targets = random_boxes(4, count=6)
    with jax.enable_x64(True):
        wide_targets = targets.astype(jnp.float64)

        def loss(b):
            return BOX_LOSSES[kind](b, wide_targets)

        check_grads(jax.jit(loss), (boxes.astype(jnp.float64),), order=2, modes=["rev"])


def test_complete_iou_gradient_holds_trade_off_constant():
    boxes, targets = random_boxes(5, count=4)

    def by_hand(b):
        # The distance loss plus a * v with a computed from stopped values.
        x1, y1, x2, y2 = (b[..., i] for i in range(4))
        tx1, ty1, tx2, ty2 = (targets[..., i] for i in range(4))
        v = (
            4
            / jnp.pi**2
            * (
                jnp.arctan((tx2 - tx1) / (ty2 - ty1))
                - jnp.arctan((x2 - x1) / (y2 - y1))
            )
            ** 2
        )
        iou = 1 - losses.box_iou_loss(b, targets)
        trade_off = jax.lax.stop_gradient(v / (1 - iou + v + 1e-7))
        return jnp.sum(losses.distance_box_iou_loss(b, targets) + trade_off * v)

    grad = jax.grad(lambda b: jnp.sum(losses.complete_box_iou_loss(b, targets)))(boxes)
    np.testing.assert_allclose(grad, jax.grad(by_hand)(boxes), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16, jnp.int32])
def test_box_losses_dtypes(dtype):
    boxes = jnp.array([[0, 0, 4, 4], [1, 1, 3, 5]]).astype(dtype)
    targets = jnp.array([[1, 1, 5, 5], [0, 0, 2, 2]]).astype(dtype)
    loss = losses.generalized_box_iou_loss(boxes, targets)
    expected = box_loss_reference(
        "giou", boxes.astype(jnp.float32), targets.astype(jnp.float32)
    )
    assert loss.dtype == (jnp.float32 if dtype == jnp.int32 else dtype)
    np.testing.assert_allclose(loss.astype(jnp.float32), expected, rtol=1e-2)


@pytest.mark.parametrize("kind", BOX_LOSSES)
def test_box_losses_errors(kind):
    loss_fn = BOX_LOSSES[kind]
    with pytest.raises(
        ValueError, match=r"boxes has shape \(5, 3\).*last axis of size 4"
    ):
        loss_fn(jnp.zeros((5, 3)), jnp.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"target_boxes has shape \(5, 5\)"):
        loss_fn(jnp.zeros((5, 4)), jnp.zeros((5, 5)))
    with pytest.raises(
        ValueError,
        match=r"boxes has shape \(5, 4\) but target_boxes has shape \(4, 4\)",
    ):
        loss_fn(jnp.zeros((5, 4)), jnp.zeros((4, 4)))
    with pytest.raises(
        ValueError, match=r"box_format='yxyx'.*'xyxy', 'xywh', 'cxcywh'"
    ):
        loss_fn(jnp.zeros((5, 4)), jnp.zeros((5, 4)), box_format="yxyx")


@pytest.mark.parametrize("kind", BOX_LOSSES)
def test_box_losses_zero_boxes(kind):
    loss = BOX_LOSSES[kind](jnp.zeros((0, 4)), jnp.zeros((0, 4)))
    assert loss.shape == (0,)
    grad = jax.grad(lambda b: jnp.sum(BOX_LOSSES[kind](b, jnp.zeros((2, 0, 4)))))(
        jnp.zeros((2, 0, 4))
    )
    assert grad.shape == (2, 0, 4)
