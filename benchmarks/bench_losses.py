"""Time optgrad's hot losses against optax's, side by side in one process.

Each case jits the mean loss and its gradient for both libraries, checks
that they agree, then runs rounds in which the two are timed back to back
in alternating order. The report gives, per case, the median over rounds
of the time ratio optgrad / optax and its interquartile range: below 1.0
optgrad is faster. Ratios taken within a round cancel most of the drift
on a shared machine. It also gives the ratio of the bytes that XLA's cost
analysis expects the two compiled programs to read and write, which does
not depend on the machine's load.

Usage:
    python benchmarks/bench_losses.py [--quick] [--rounds N]
"""

import argparse
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import optgrad


def _normal(seed, shape):
    return jax.random.normal(jax.random.key(seed), shape, jnp.float32)


def _integer_labels(batch, classes):
    labels = jax.random.randint(jax.random.key(1), (batch,), 0, classes)
    return (_normal(0, (batch, classes)), labels), {}


def _soft_labels(batch, classes):
    labels = jax.nn.softmax(_normal(1, (batch, classes)))
    return (_normal(0, (batch, classes)), labels), {}


def _binary_labels(batch, classes):
    labels = jax.random.bernoulli(jax.random.key(1), 0.5, (batch, classes))
    return (_normal(0, (batch, classes)), labels.astype(jnp.float32)), {}


def _bfloat16_integer_labels(batch, classes):
    (logits, labels), kwargs = _integer_labels(batch, classes)
    return (logits.astype(jnp.bfloat16), labels), kwargs


def _regression(batch, features):
    return (_normal(0, (batch, features)), _normal(1, (batch, features))), {}


def _distributions(batch, classes):
    log_predictions = jax.nn.log_softmax(_normal(0, (batch, classes)))
    targets = jax.nn.softmax(_normal(1, (batch, classes)))
    return (log_predictions, targets), {}


def _segmentation(batch, side, classes=4):
    logits = _normal(0, (batch, side, side, classes))
    labels = jax.random.randint(jax.random.key(1), (batch, side, side), 0, classes)
    return (logits, jax.nn.one_hot(labels, classes)), {}


def _triplets(batch, features):
    return (
        _normal(0, (batch, features)),
        _normal(1, (batch, features)),
        _normal(2, (batch, features)),
    ), {}


def _contrastive(batch, features):
    # Pairs of views: examples 2i and 2i + 1 share label i.
    labels = jnp.arange(batch) // 2
    return (_normal(0, (batch, features)), labels), {}


# (loss name, input builder, full shape, quick shape). The builder returns
# the positional and keyword arguments; the gradient is taken with respect
# to the first positional argument.
CASES = [
    (
        "softmax_cross_entropy_with_integer_labels",
        _integer_labels,
        (4096, 1000),
        (1024, 1000),
    ),
    (
        "softmax_cross_entropy_with_integer_labels",
        _integer_labels,
        (256, 32000),
        (64, 32000),
    ),
    (
        "softmax_cross_entropy_with_integer_labels",
        _bfloat16_integer_labels,
        (4096, 1000),
        (1024, 1000),
    ),
    ("softmax_cross_entropy", _soft_labels, (4096, 1000), (1024, 1000)),
    ("poly_loss_cross_entropy", _soft_labels, (4096, 1000), (1024, 1000)),
    ("sigmoid_binary_cross_entropy", _binary_labels, (4096, 1000), (1024, 1000)),
    ("sigmoid_focal_loss", _binary_labels, (4096, 1000), (1024, 1000)),
    ("multiclass_hinge_loss", _integer_labels, (4096, 1000), (1024, 1000)),
    ("multiclass_sparsemax_loss", _integer_labels, (1024, 100), (256, 100)),
    ("ranking_softmax_loss", _binary_labels, (1024, 100), (256, 100)),
    ("kl_divergence", _distributions, (4096, 1000), (1024, 1000)),
    ("squared_error", _regression, (4096, 1000), (1024, 1000)),
    ("huber_loss", _regression, (4096, 1000), (1024, 1000)),
    ("log_cosh", _regression, (4096, 1000), (1024, 1000)),
    ("cosine_distance", _regression, (4096, 256), (1024, 256)),
    ("dice_loss", _segmentation, (16, 128), (4, 128)),
    ("triplet_margin_loss", _triplets, (4096, 128), (1024, 128)),
    ("ntxent", _contrastive, (512, 128), (128, 128)),
]


def _value_and_grad(library, name, kwargs):
    loss = getattr(library.losses, name)

    def mean_loss(first, *rest):
        return jnp.mean(loss(first, *rest, **kwargs).astype(jnp.float32))

    return jax.jit(jax.value_and_grad(mean_loss))


def _bytes_accessed(fn, args):
    """Return XLA's estimate of the bytes the compiled ``fn`` reads and writes."""
    analysis = fn.lower(*args).compile().cost_analysis()
    if isinstance(analysis, list | tuple):
        analysis = analysis[0]
    return analysis["bytes accessed"]


def _time_once(fn, args):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def run_case(name, args, kwargs, rounds, repeats):
    """Return the per-round time ratios optgrad / optax and the bytes ratio."""
    ours = _value_and_grad(optgrad, name, kwargs)
    theirs = _value_and_grad(optax, name, kwargs)

    our_value, our_grad = ours(*args)
    their_value, their_grad = theirs(*args)
    np.testing.assert_allclose(
        np.asarray(our_value, np.float32), np.asarray(their_value, np.float32), 1e-2
    )
    np.testing.assert_allclose(
        np.asarray(our_grad, np.float32),
        np.asarray(their_grad, np.float32),
        rtol=1e-2,
        atol=1e-6,
    )

    ratios = []
    for round_index in range(rounds):
        # Alternate which library runs first, so neither always gets the
        # warmer cache.
        order = [(ours, "ours"), (theirs, "theirs")]
        if round_index % 2:
            order.reverse()
        times = {"ours": [], "theirs": []}
        for _ in range(repeats):
            for fn, key in order:
                times[key].append(_time_once(fn, args))
        ratios.append(np.median(times["ours"]) / np.median(times["theirs"]))
    bytes_ratio = _bytes_accessed(ours, args) / _bytes_accessed(theirs, args)
    return np.asarray(ratios), bytes_ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="use smaller shapes and fewer rounds (about a minute)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="number of timing rounds per case (default: 15, or 5 with --quick)",
    )
    options = parser.parse_args()
    rounds = options.rounds or (5 if options.quick else 15)
    repeats = 5 if options.quick else 10

    print(
        f"jax {jax.__version__}, optax {optax.__version__}, optgrad "
        f"{optgrad.__version__}, backend {jax.default_backend()}, "
        f"{platform.processor() or platform.machine()}"
    )
    print(
        f"{rounds} rounds of {repeats} interleaved calls per library; "
        "ratio = optgrad time / optax time (value and gradient, jitted)"
    )
    print(
        f"{'loss':<44} {'shape':<18} {'dtype':<9} {'median':>7}  {'IQR':<16}"
        f"{'bytes':>6}"
    )
    for name, build, full_shape, quick_shape in CASES:
        args, kwargs = build(*(quick_shape if options.quick else full_shape))
        ratios, bytes_ratio = run_case(name, args, kwargs, rounds, repeats)
        low, median, high = np.percentile(ratios, [25, 50, 75])
        spread = f"[{low:.3f}, {high:.3f}]"
        shape = str(tuple(args[0].shape))
        print(
            f"{name:<44} {shape:<18} {args[0].dtype.name:<9} {median:7.3f}  "
            f"{spread:<16}{bytes_ratio:6.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
