"""Data of the built-in tasks: scikit-learn's bundled data sets and fixed splits.

Every data set here is read from files installed with scikit-learn; nothing
is downloaded. Splits are fixed (``SPLIT_SEED``), so every run of a task uses
the same train, validation and test examples.
"""

import dataclasses
from typing import Any

import numpy as np

from optgrad.training._optional import import_optional

SPLIT_SEED = 0
# Fractions of the examples in the validation and test splits; the rest
# is the training split.
VALIDATION_FRACTION = 0.2
TEST_FRACTION = 0.2


@dataclasses.dataclass(frozen=True)
class Splits:
    """The train, validation and test data of a task.

    Attributes:
        train: A dict of NumPy arrays sharing a leading example axis.
        validation: The same structure, for model selection.
        test: The same structure, for the reported metric.
        info: Facts about the data that the task's model or target needs,
            such as ``"features"`` or ``"classes"``.
    """

    train: dict[str, np.ndarray]
    validation: dict[str, np.ndarray]
    test: dict[str, np.ndarray]
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def sizes(self) -> tuple[int, int, int]:
        """Return the number of examples in the train, validation and test splits."""
        return tuple(
            len(next(iter(split.values())))
            for split in (self.train, self.validation, self.test)
        )


def split_indices(
    num_examples: int, stratify: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return fixed train, validation and test indices (60/20/20).

    With ``stratify`` (class labels) each split keeps the class proportions.
    """
    model_selection = import_optional(
        "sklearn.model_selection", "scikit-learn", "optgrad.tasks"
    )
    indices = np.arange(num_examples)
    rest, test = model_selection.train_test_split(
        indices,
        test_size=TEST_FRACTION,
        random_state=SPLIT_SEED,
        stratify=stratify,
    )
    train, validation = model_selection.train_test_split(
        rest,
        test_size=VALIDATION_FRACTION / (1.0 - TEST_FRACTION),
        random_state=SPLIT_SEED,
        stratify=None if stratify is None else stratify[rest],
    )
    return np.sort(train), np.sort(validation), np.sort(test)


def standardizer(train_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and the scale of each feature over the training split.

    A feature that is constant on the training split gets scale 1, so it
    maps to 0 there instead of dividing by zero.
    """
    mean = train_features.mean(axis=0)
    scale = train_features.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return mean, scale


def tabular_splits(
    features: np.ndarray,
    targets: np.ndarray,
    *,
    stratify: bool,
    target_dtype: Any,
    classes: int | None = None,
    standardize_targets: bool = False,
) -> Splits:
    """Split a feature matrix and targets, standardizing on the training split.

    Args:
        features: ``[examples, features]`` numbers.
        targets: ``[examples]`` class labels or regression targets.
        stratify: Keep class proportions in every split.
        target_dtype: The dtype of the returned targets (int32 for class
            indices, float32 otherwise).
        classes: The number of classes, stored in ``info`` for models with
            one output per class.
        standardize_targets: Also standardize the targets on the training
            split (for regression); ``info`` then contains ``"target_mean"``
            and ``"target_scale"``.
    """
    train, validation, test = split_indices(len(targets), targets if stratify else None)
    mean, scale = standardizer(features[train])
    target_mean, target_scale = 0.0, 1.0
    if standardize_targets:
        target_mean = float(np.mean(targets[train]))
        target_scale = float(np.std(targets[train])) or 1.0

    def part(indices: np.ndarray) -> dict[str, np.ndarray]:
        x = ((features[indices] - mean) / scale).astype(np.float32)
        y = targets[indices]
        if standardize_targets:
            y = (y - target_mean) / target_scale
        return {"x": x, "y": np.asarray(y).astype(target_dtype)}

    info: dict[str, Any] = {"features": features.shape[1]}
    if classes is not None:
        info["classes"] = classes
    if standardize_targets:
        info.update(target_mean=target_mean, target_scale=target_scale)
    return Splits(part(train), part(validation), part(test), info)


def load_sklearn(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the features and targets of a data set bundled with scikit-learn.

    Args:
        name: ``"digits"``, ``"breast_cancer"``, ``"diabetes"`` or ``"wine"``.
    """
    datasets = import_optional("sklearn.datasets", "scikit-learn", "optgrad.tasks")
    bunch = getattr(datasets, f"load_{name}")()
    return np.asarray(bunch.data, np.float64), np.asarray(bunch.target)


def digit_images() -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Return the 8x8 digit images scaled to [0, 1], their labels and fixed splits.

    The splits are those of the ``digits`` task, so a derived task that draws
    its examples for each split from that split's images shares no digit
    image between its own splits.
    """
    datasets = import_optional("sklearn.datasets", "scikit-learn", "optgrad.tasks")
    bunch = datasets.load_digits()
    images = np.asarray(bunch.images, np.float32) / 16.0
    labels = np.asarray(bunch.target, np.int32)
    return images, labels, split_indices(len(labels), labels)
