"""Contract tests over every loss shared with optax.

Each case builds random float32 inputs. The tests compare values and
gradients with optax 0.2.8 under ``jit`` and ``vmap``, and check the result
shape (one value per example) and the shape-mismatch errors.
"""

import functools
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose

import optgrad
from optgrad import losses

BATCH, CLASSES = 4, 5


def _normal(seed, shape, scale=1.0):
    return scale * jax.random.normal(jax.random.key(seed), shape, jnp.float32)


def _probabilities(seed, shape):
    return jax.nn.softmax(_normal(seed, shape, 2.0), axis=-1)


def _integers(seed, shape, high):
    return jax.random.randint(jax.random.key(seed), shape, 0, high)


def _bits(seed, shape):
    return jax.random.bernoulli(jax.random.key(seed), 0.5, shape)


def _class_mask(seed):
    """A [BATCH, CLASSES] mask with one empty row and one full row."""
    mask = _bits(seed, (BATCH, CLASSES))
    return mask.at[0].set(False).at[1].set(True)


class LossCase:
    """One call of a loss: a name, an input builder and keyword arguments.

    Attributes:
        name: The function name, the same in ``optgrad.losses`` and
            ``optax.losses``.
        build: ``build(seed)`` returns the positional arguments.
        kwargs: Keyword arguments for both libraries.
        result_shape: The expected result shape.
        label: A short id for the test name.
    """

    def __init__(self, name, build, kwargs=None, *, result_shape, label=""):
        self.name = name
        self.build = build
        self.kwargs = kwargs or {}
        self.result_shape = result_shape
        self.label = label

    def ours(self):
        return functools.partial(getattr(losses, self.name), **self.kwargs)

    def reference(self):
        return functools.partial(getattr(optax.losses, self.name), **self.kwargs)

    def __repr__(self):
        return f"{self.name}-{self.label}" if self.label else self.name


def _two(first, second):
    return lambda seed: (first(seed), second(seed + 100))


def _logits(seed):
    return _normal(seed, (BATCH, CLASSES), 3.0)


def _targets(seed):
    return _normal(seed, (BATCH, CLASSES))


def _labels(seed):
    return _integers(seed, (BATCH,), CLASSES)


def _soft(seed):
    return _probabilities(seed, (BATCH, CLASSES))


def _log_soft(seed):
    return jax.nn.log_softmax(_normal(seed, (BATCH, CLASSES), 2.0))


def _signs(seed):
    return jnp.where(_bits(seed, (BATCH,)), 1.0, -1.0).astype(jnp.float32)


ELEMENTWISE = (BATCH, CLASSES)
PER_EXAMPLE = (BATCH,)

CASES = [
    LossCase("squared_error", _two(_targets, _targets), result_shape=ELEMENTWISE),
    LossCase(
        "squared_error",
        lambda seed: (_targets(seed),),
        result_shape=ELEMENTWISE,
        label="no-targets",
    ),
    LossCase("l2_loss", _two(_targets, _targets), result_shape=ELEMENTWISE),
    LossCase(
        "huber_loss",
        _two(_targets, _targets),
        {"delta": 0.5},
        result_shape=ELEMENTWISE,
    ),
    LossCase("log_cosh", _two(_targets, _targets), result_shape=ELEMENTWISE),
    LossCase(
        "sigmoid_binary_cross_entropy",
        lambda seed: (_logits(seed), _bits(seed + 1, ELEMENTWISE).astype(jnp.float32)),
        result_shape=ELEMENTWISE,
    ),
    LossCase(
        "sigmoid_binary_cross_entropy",
        lambda seed: (_logits(seed), _soft(seed + 1)),
        result_shape=ELEMENTWISE,
        label="soft",
    ),
    LossCase(
        "sigmoid_focal_loss",
        lambda seed: (_logits(seed), _bits(seed + 1, ELEMENTWISE).astype(jnp.float32)),
        {"alpha": 0.25, "gamma": 2.0},
        result_shape=ELEMENTWISE,
    ),
    LossCase(
        "sigmoid_focal_loss",
        lambda seed: (_logits(seed), _soft(seed + 1)),
        {"gamma": 0.5},
        result_shape=ELEMENTWISE,
        label="soft",
    ),
    LossCase("softmax_cross_entropy", _two(_logits, _soft), result_shape=PER_EXAMPLE),
    LossCase(
        "softmax_cross_entropy",
        _two(_logits, _soft),
        {"where": _class_mask(7)},
        result_shape=PER_EXAMPLE,
        label="where",
    ),
    LossCase(
        "softmax_cross_entropy",
        lambda seed: (
            _normal(seed, (3, BATCH)),
            _probabilities(seed + 1, (BATCH, 3)).T,
        ),
        {"axis": 0},
        result_shape=(BATCH,),
        label="axis0",
    ),
    LossCase(
        "safe_softmax_cross_entropy", _two(_logits, _soft), result_shape=PER_EXAMPLE
    ),
    LossCase(
        "softmax_cross_entropy_with_integer_labels",
        _two(_logits, _labels),
        result_shape=PER_EXAMPLE,
    ),
    LossCase(
        "softmax_cross_entropy_with_integer_labels",
        _two(_logits, _labels),
        {"where": _class_mask(8)},
        result_shape=PER_EXAMPLE,
        label="where",
    ),
    LossCase(
        "softmax_cross_entropy_with_integer_labels",
        _two(_logits, _labels),
        {"where": jnp.array([True, False, True, True])},
        result_shape=PER_EXAMPLE,
        label="where-per-example",
    ),
    LossCase(
        "softmax_cross_entropy_with_integer_labels",
        lambda seed: (_normal(seed, (2, 3, 4)), _integers(seed + 1, (3,), 8)),
        {"axis": (0, 2)},
        result_shape=(3,),
        label="axis-tuple",
    ),
    LossCase(
        "softmax_cross_entropy_with_integer_labels",
        lambda seed: (_normal(seed, (CLASSES, BATCH)), _labels(seed + 1)),
        {"axis": 0},
        result_shape=(BATCH,),
        label="axis0",
    ),
    LossCase(
        "poly_loss_cross_entropy",
        _two(_logits, _soft),
        {"epsilon": 2.0},
        result_shape=PER_EXAMPLE,
    ),
    LossCase(
        "poly_loss_cross_entropy",
        _two(_logits, _soft),
        {"epsilon": -1.0, "where": _class_mask(9)},
        result_shape=PER_EXAMPLE,
        label="where",
    ),
    LossCase(
        "smooth_labels",
        lambda seed: (jax.nn.one_hot(_labels(seed), CLASSES),),
        {"alpha": 0.1},
        result_shape=ELEMENTWISE,
    ),
    LossCase(
        "hinge_loss",
        lambda seed: (_normal(seed, (BATCH,)), _signs(seed + 1)),
        result_shape=(BATCH,),
    ),
    LossCase(
        "perceptron_loss",
        lambda seed: (_normal(seed, (BATCH,)), _signs(seed + 1)),
        result_shape=(BATCH,),
    ),
    LossCase("multiclass_hinge_loss", _two(_logits, _labels), result_shape=PER_EXAMPLE),
    LossCase(
        "multiclass_perceptron_loss", _two(_logits, _labels), result_shape=PER_EXAMPLE
    ),
    LossCase("kl_divergence", _two(_log_soft, _soft), result_shape=PER_EXAMPLE),
    LossCase(
        "kl_divergence",
        _two(_log_soft, _soft),
        {"where": _class_mask(10)},
        result_shape=PER_EXAMPLE,
        label="where",
    ),
    LossCase(
        "kl_divergence_with_log_targets",
        _two(_log_soft, _log_soft),
        result_shape=PER_EXAMPLE,
    ),
    LossCase(
        "generalized_kl_divergence",
        lambda seed: (_targets(seed), jnp.exp(_targets(seed + 1))),
        result_shape=PER_EXAMPLE,
    ),
    LossCase(
        "convex_kl_divergence",
        lambda seed: (_targets(seed), jnp.exp(_targets(seed + 1))),
        {"axis": 0},
        result_shape=(CLASSES,),
    ),
    LossCase("cosine_similarity", _two(_targets, _targets), result_shape=PER_EXAMPLE),
    LossCase(
        "cosine_similarity",
        _two(_targets, _targets),
        {"epsilon": 0.1, "where": _class_mask(11).at[0, 0].set(True)},
        result_shape=PER_EXAMPLE,
        label="where",
    ),
    LossCase("cosine_distance", _two(_targets, _targets), result_shape=PER_EXAMPLE),
    LossCase(
        "triplet_margin_loss",
        lambda seed: (_targets(seed), _targets(seed + 1), _targets(seed + 2)),
        {"margin": 2.0},
        result_shape=PER_EXAMPLE,
    ),
    LossCase(
        "ntxent",
        lambda seed: (_normal(seed, (6, 3)), jnp.array([0, 0, 1, 1, 2, 2])),
        result_shape=(),
    ),
    LossCase(
        "sparsemax_loss",
        lambda seed: (_logits(seed), _integers(seed + 1, ELEMENTWISE, 2)),
        result_shape=ELEMENTWISE,
    ),
    LossCase(
        "multiclass_sparsemax_loss", _two(_logits, _labels), result_shape=PER_EXAMPLE
    ),
    LossCase("ranking_softmax_loss", _two(_logits, _soft), result_shape=()),
    LossCase(
        "ranking_softmax_loss",
        lambda seed: (_logits(seed), _integers(seed + 1, ELEMENTWISE, 3)),
        {
            "where": _class_mask(12),
            "weights": _probabilities(13, ELEMENTWISE),
            "reduce_fn": None,
        },
        result_shape=PER_EXAMPLE,
        label="where-weights",
    ),
    LossCase(
        "ranking_softmax_loss",
        _two(_logits, _soft),
        {"where": _class_mask(14), "reduce_fn": jnp.sum},
        result_shape=(),
        label="sum",
    ),
]

CATALOGUE = pytest.mark.parametrize("case", CASES, ids=repr)


def _summed(fn):
    def total(first, *rest):
        return jnp.sum(fn(first, *rest))

    return total


def test_catalogue_covers_shared_names():
    shared = {name for name in dir(optax.losses) if not name.startswith("_")} - {
        "ctc_loss",
        "ctc_loss_with_forward_probs",
        "dice_loss",
        "binary_dice_loss",
        "multiclass_generalized_dice_loss",
        "make_fenchel_young_loss",
    }
    covered = {case.name for case in CASES}
    assert shared - covered == set()


def _value_gradient_batch(fn):
    """Jit one function returning the value, the gradient and a vmapped value."""

    def run(args, stacked):
        value = fn(*args)
        gradient = jax.grad(_summed(fn))(*args)
        return value, gradient, jax.vmap(fn)(*stacked)

    return jax.jit(run)


@CATALOGUE
def test_loss_matches_optax(case):
    args, other = case.build(0), case.build(1)
    stacked = jax.tree.map(lambda a, b: jnp.stack([a, b]), args, other)
    value, gradient, batched = _value_gradient_batch(case.ours())(args, stacked)
    with reference_mode(), warnings.catch_warnings():
        # optax 0.2.8 deprecates convex_kl_divergence.
        warnings.simplefilter("ignore", DeprecationWarning)
        expected = _value_gradient_batch(case.reference())(args, stacked)

    assert value.shape == case.result_shape
    assert value.dtype == jnp.float32
    assert batched.shape == (2, *case.result_shape)
    tree_allclose(value, expected[0], rtol=2e-5, atol=2e-6)
    tree_allclose(gradient, expected[1], rtol=2e-5, atol=2e-6)
    tree_allclose(batched, expected[2], rtol=2e-5, atol=2e-6)


TOP_LEVEL = sorted(
    name
    for name in dir(optax)
    if name in dir(optax.losses)
    and not name.startswith("_")
    and name not in ("ctc_loss", "ctc_loss_with_forward_probs")
)


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_reexports_optax_loss_names(name):
    assert getattr(optgrad, name) is getattr(losses, name)


# Pairs of (case, index of the argument to corrupt, replacement shape).
MISMATCHES = [
    ("squared_error", 1, (BATCH, 2)),
    ("l2_loss", 1, (CLASSES,) * 2),
    ("huber_loss", 1, (BATCH,)),
    ("log_cosh", 1, (CLASSES, BATCH)),
    ("sigmoid_binary_cross_entropy", 1, (BATCH, CLASSES + 1)),
    ("sigmoid_focal_loss", 1, (BATCH, 1, CLASSES)),
    ("softmax_cross_entropy", 1, (BATCH, CLASSES - 1)),
    ("safe_softmax_cross_entropy", 1, (CLASSES, CLASSES)),
    ("softmax_cross_entropy_with_integer_labels", 1, (BATCH + 1,)),
    ("poly_loss_cross_entropy", 1, (2, BATCH, CLASSES)),
    ("hinge_loss", 1, (BATCH, 1)),
    ("perceptron_loss", 1, (BATCH + 2,)),
    ("multiclass_hinge_loss", 1, (BATCH, 1)),
    ("multiclass_perceptron_loss", 1, (BATCH, CLASSES)),
    ("kl_divergence", 1, (BATCH, 3)),
    ("kl_divergence_with_log_targets", 1, (1, BATCH, CLASSES)),
    ("generalized_kl_divergence", 1, (BATCH,)),
    ("cosine_similarity", 1, (BATCH, 2)),
    ("cosine_distance", 1, (2, CLASSES)),
    ("triplet_margin_loss", 2, (BATCH, CLASSES + 1)),
    ("ntxent", 1, (5,)),
    ("sparsemax_loss", 1, (BATCH, 2)),
    ("multiclass_sparsemax_loss", 1, (BATCH + 1,)),
    ("ranking_softmax_loss", 1, (BATCH, 2)),
]


@pytest.mark.parametrize(("name", "position", "bad_shape"), MISMATCHES)
def test_loss_shape_mismatch_names_both_shapes(name, position, bad_shape):
    case = next(c for c in CASES if c.name == name)
    args = list(case.build(0))
    good_shape = tuple(args[0].shape)
    args[position] = jnp.zeros(bad_shape, args[position].dtype)
    with pytest.raises(ValueError) as error:
        jax.jit(case.ours())(*args)
    message = str(error.value)
    assert re.search(re.escape(str(bad_shape)), message), message
    assert re.search(re.escape(str(good_shape)), message), message


LOGIT_CASES = [
    case
    for case in CASES
    if case.name
    in {
        "sigmoid_binary_cross_entropy",
        "sigmoid_focal_loss",
        "softmax_cross_entropy",
        "safe_softmax_cross_entropy",
        "softmax_cross_entropy_with_integer_labels",
        "poly_loss_cross_entropy",
        "hinge_loss",
        "perceptron_loss",
        "multiclass_hinge_loss",
        "multiclass_perceptron_loss",
        "sparsemax_loss",
        "multiclass_sparsemax_loss",
        "ranking_softmax_loss",
    }
]


@pytest.mark.parametrize("case", LOGIT_CASES, ids=repr)
def test_logit_losses_finite_at_huge_logits(case):
    args = list(case.build(4))
    # Random signs put logits of both +1e4 and -1e4 in every example.
    signs = jnp.where(_bits(5, args[0].shape), 1.0, -1.0).astype(jnp.float32)
    args[0] = 1e4 * signs
    value, grad = jax.jit(jax.value_and_grad(_summed(case.ours())))(*args)
    assert np.isfinite(value), value
    assert np.all(np.isfinite(grad)), grad
