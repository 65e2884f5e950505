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


def _integer_labels(batch, classes):
    logits = jax.random.normal(jax.random.key(0), (batch, classes), jnp.float32)
    labels = jax.random.randint(jax.random.key(1), (batch,), 0, classes)
    return logits, labels


def _soft_labels(batch, classes):
    logits = jax.random.normal(jax.random.key(0), (batch, classes), jnp.float32)
    labels = jax.nn.softmax(jax.random.normal(jax.random.key(1), (batch, classes)))
    return logits, labels


def _binary_labels(batch, classes):
    logits = jax.random.normal(jax.random.key(0), (batch, classes), jnp.float32)
    labels = jax.random.bernoulli(jax.random.key(1), 0.5, (batch, classes))
    return logits, labels.astype(jnp.float32)


def _bfloat16_integer_labels(batch, classes):
    logits, labels = _integer_labels(batch, classes)
    return logits.astype(jnp.bfloat16), labels


# (loss name, input builder, full shape, quick shape)
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
    ("sigmoid_binary_cross_entropy", _binary_labels, (4096, 1000), (1024, 1000)),
]


def _value_and_grad(library, name):
    loss = getattr(library.losses, name)

    def mean_loss(logits, labels):
        return jnp.mean(loss(logits, labels).astype(jnp.float32))

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


def run_case(name, build, shape, rounds, repeats):
    """Return the per-round time ratios optgrad / optax and the bytes ratio."""
    args = build(*shape)
    ours = _value_and_grad(optgrad, name)
    theirs = _value_and_grad(optax, name)

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
        f"{'loss':<44} {'shape':<14} {'dtype':<9} {'median':>7}  {'IQR':<16}"
        f"{'bytes':>6}"
    )
    for name, build, full_shape, quick_shape in CASES:
        shape = quick_shape if options.quick else full_shape
        dtype = build(1, 1)[0].dtype
        ratios, bytes_ratio = run_case(name, build, shape, rounds, repeats)
        low, median, high = np.percentile(ratios, [25, 50, 75])
        spread = f"[{low:.3f}, {high:.3f}]"
        print(
            f"{name:<44} {shape!s:<14} {dtype.name:<9} {median:7.3f}  "
            f"{spread:<16}{bytes_ratio:6.3f}"
        )


if __name__ == "__main__":
    main()
