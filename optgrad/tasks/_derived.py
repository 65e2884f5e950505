"""Tasks built from the 8x8 digit images: digit strings, boxes and masks.

Each split of a derived task is drawn only from the images of the same split
of the ``digits`` task, so no digit image appears in two splits. The draws
use fixed seeds, so the data is the same in every run.
"""

import functools

import numpy as np

from optgrad.tasks._data import Splits, digit_images

# Examples generated for the train, validation and test splits.
STRING_COUNTS = (3200, 500, 1000)
BOX_COUNTS = (4096, 500, 1000)
MASK_COUNTS = (2048, 400, 600)

MAX_DIGITS = 5
MAX_GAP = 2  # Columns of background between neighbouring digits: 0 to 2.
STRING_WIDTH = MAX_DIGITS * 8 + (MAX_DIGITS - 1) * MAX_GAP  # 48 columns.
BOX_CANVAS = 32
MASK_CANVAS = 24
# A pixel belongs to the mask when its ink is at least this fraction of the
# darkest value (4 of the data set's 16 grey levels).
MASK_THRESHOLD = 0.25
MASK_NOISE = 0.3  # Standard deviation of the Gaussian noise on mask inputs.


def _standardize_images(splits: list[dict[str, np.ndarray]]) -> None:
    """Standardize the ``"x"`` images of every split by the training pixels."""
    mean = float(splits[0]["x"].mean())
    scale = float(splits[0]["x"].std()) or 1.0
    for split in splits:
        split["x"] = ((split["x"] - mean) / scale).astype(np.float32)
        # The splits are cached and shared, so they are made read-only.
        for array in split.values():
            array.flags.writeable = False


def _digit_strings(
    images: np.ndarray, labels: np.ndarray, pool: np.ndarray, count: int, seed: int
) -> dict[str, np.ndarray]:
    """Draw ``count`` rows of 1 to 5 digits side by side with random gaps.

    Returns the data and the indices of the images used. The data has
    columns as time steps: ``x`` is ``[count, 48, 8]``. ``labels`` holds the
    digit classes shifted by one (0 is the CTC blank), padded to 5 with 0.
    ``label_paddings`` is 1.0 on the padding.
    """
    rng = np.random.default_rng(seed)
    x = np.zeros((count, STRING_WIDTH, 8), np.float32)
    sequence = np.zeros((count, MAX_DIGITS), np.int32)
    paddings = np.ones((count, MAX_DIGITS), np.float32)
    used = []
    for row in range(count):
        length = int(rng.integers(1, MAX_DIGITS + 1))
        picks = rng.choice(pool, length)
        used.append(picks)
        gaps = rng.integers(0, MAX_GAP + 1, length - 1)
        width = 8 * length + int(gaps.sum())
        column = int(rng.integers(0, STRING_WIDTH - width + 1))
        for position, image in enumerate(picks):
            x[row, column : column + 8, :] = images[image].T
            if position < length - 1:
                column += 8 + int(gaps[position])
        sequence[row, :length] = labels[picks] + 1
        paddings[row, :length] = 0.0
    data = {"x": x, "labels": sequence, "label_paddings": paddings}
    return data, np.unique(np.concatenate(used))


def _scaled(image: np.ndarray, factor: int) -> np.ndarray:
    return np.kron(image, np.ones((factor, factor), np.float32))


def _digit_boxes(
    images: np.ndarray, pool: np.ndarray, count: int, seed: int
) -> dict[str, np.ndarray]:
    """Place one digit, enlarged 1 to 3 times, at a random spot of a 32x32 canvas.

    Returns the data and the indices of the images used. ``boxes`` is the
    tight box around the digit's ink as ``(x1, y1, x2, y2)`` in fractions of
    the canvas side, with pixel edges as coordinates.
    """
    rng = np.random.default_rng(seed)
    x = np.zeros((count, BOX_CANVAS, BOX_CANVAS), np.float32)
    boxes = np.zeros((count, 4), np.float32)
    picks = rng.choice(pool, count)
    for row in range(count):
        image = _scaled(images[picks[row]], int(rng.integers(1, 4)))
        size = image.shape[0]
        top, left = rng.integers(0, BOX_CANVAS - size + 1, 2)
        x[row, top : top + size, left : left + size] = image
        ink_rows = np.flatnonzero(image.max(axis=1) > 0)
        ink_columns = np.flatnonzero(image.max(axis=0) > 0)
        boxes[row] = [
            left + ink_columns[0],
            top + ink_rows[0],
            left + ink_columns[-1] + 1,
            top + ink_rows[-1] + 1,
        ]
    return {"x": x, "boxes": boxes / BOX_CANVAS}, np.unique(picks)


def _digit_masks(
    images: np.ndarray, pool: np.ndarray, count: int, seed: int
) -> dict[str, np.ndarray]:
    """Place one digit, enlarged 1 or 2 times, on a noisy 24x24 canvas.

    Returns the data and the indices of the images used. ``masks`` marks the
    pixels whose ink is at least ``MASK_THRESHOLD``. The input ``x`` has
    Gaussian noise added, so a single pixel's value does not decide its
    class.
    """
    rng = np.random.default_rng(seed)
    x = np.zeros((count, MASK_CANVAS, MASK_CANVAS), np.float32)
    masks = np.zeros((count, MASK_CANVAS, MASK_CANVAS), np.float32)
    picks = rng.choice(pool, count)
    for row in range(count):
        image = _scaled(images[picks[row]], int(rng.integers(1, 3)))
        size = image.shape[0]
        top, left = rng.integers(0, MASK_CANVAS - size + 1, 2)
        x[row, top : top + size, left : left + size] = image
        masks[row, top : top + size, left : left + size] = image >= MASK_THRESHOLD
    x += MASK_NOISE * rng.standard_normal(x.shape).astype(np.float32)
    return {"x": x, "masks": masks}, np.unique(picks)


def _assemble(parts: list, info: dict) -> Splits:
    """Standardize generated splits and record the digit images each one used."""
    data = [part for part, _ in parts]
    _standardize_images(data)
    info["source_images"] = tuple(images for _, images in parts)
    return Splits(*data, info=info)


@functools.cache
def digit_strings() -> Splits:
    """Return the data of the ``digit-strings`` task."""
    images, labels, pools = digit_images()
    parts = [
        _digit_strings(images, labels, pool, count, seed)
        for seed, (pool, count) in enumerate(zip(pools, STRING_COUNTS, strict=True))
    ]
    return _assemble(parts, {"max_digits": MAX_DIGITS, "width": STRING_WIDTH})


@functools.cache
def digit_boxes() -> Splits:
    """Return the data of the ``digit-boxes`` task."""
    images, _, pools = digit_images()
    parts = [
        _digit_boxes(images, pool, count, seed)
        for seed, (pool, count) in enumerate(zip(pools, BOX_COUNTS, strict=True))
    ]
    return _assemble(parts, {"canvas": BOX_CANVAS})


@functools.cache
def digit_masks() -> Splits:
    """Return the data of the ``digit-masks`` task."""
    images, _, pools = digit_images()
    parts = [
        _digit_masks(images, pool, count, seed)
        for seed, (pool, count) in enumerate(zip(pools, MASK_COUNTS, strict=True))
    ]
    return _assemble(parts, {"canvas": MASK_CANVAS})
