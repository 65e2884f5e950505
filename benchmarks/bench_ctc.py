"""Time the CTC loss's value and gradient in optgrad and in optax.

Both functions are jitted as ``jax.value_and_grad`` of the summed loss and
run interleaved, one call of each per round, so that load from other
processes falls on both alike. The report gives the median and the minimum
time per call, and the ratio optgrad / optax of the medians (below 1 means
optgrad is faster). On a shared machine the minimum is the steadier number.

Usage:
    python benchmarks/bench_ctc.py            # all shapes, 30 rounds each
    python benchmarks/bench_ctc.py --quick    # one shape, 15 rounds
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import optgrad

# (batch, frames, classes, label positions)
FULL_SHAPES = [
    (8, 100, 32, 20),
    (16, 200, 64, 40),
    (32, 50, 1000, 10),
    (4, 500, 32, 100),
]
QUICK_SHAPES = [(16, 200, 64, 40)]


def make_inputs(batch, frames, classes, label_positions, seed=0):
    """Return random logits, paddings and labels with ragged lengths."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(batch, frames, classes)).astype(np.float32)
    labels = rng.integers(1, classes, size=(batch, label_positions))
    label_lengths = rng.integers(label_positions // 2, label_positions + 1, size=batch)
    frame_counts = rng.integers(frames * 3 // 4, frames + 1, size=batch)
    positions = np.arange(label_positions)[None, :]
    label_paddings = (positions >= label_lengths[:, None]).astype(np.float32)
    frame_paddings = (np.arange(frames)[None, :] >= frame_counts[:, None]).astype(
        np.float32
    )
    return tuple(
        jnp.asarray(x) for x in (logits, frame_paddings, labels, label_paddings)
    )


def value_and_grad_fn(loss_fn):
    """Return a jitted function of the inputs giving the summed loss and its
    gradient with respect to the logits."""

    def total(logits, frame_paddings, labels, label_paddings):
        return jnp.sum(loss_fn(logits, frame_paddings, labels, label_paddings))

    return jax.jit(jax.value_and_grad(total))


def time_call(fn, inputs):
    """Return the wall-clock seconds of one call, waiting for the result."""
    start = time.perf_counter()
    jax.block_until_ready(fn(*inputs))
    return time.perf_counter() - start


def compare(shape, rounds):
    """Time both implementations on one shape.

    Returns the two lists of per-call seconds, optgrad's first.
    """
    inputs = make_inputs(*shape)
    ours = value_and_grad_fn(optgrad.losses.ctc_loss)
    theirs = value_and_grad_fn(optax.ctc_loss)

    # Compile and warm up both, and check that they agree before timing.
    our_value, our_grad = jax.block_until_ready(ours(*inputs))
    their_value, their_grad = jax.block_until_ready(theirs(*inputs))
    np.testing.assert_allclose(our_value, their_value, rtol=1e-4)
    # optax's float32 gradient is itself about 2e-4 away from a float64 one
    # at 200 frames.
    np.testing.assert_allclose(our_grad, their_grad, atol=1e-3)

    our_times, their_times = [], []
    for _ in range(rounds):
        our_times.append(time_call(ours, inputs))
        their_times.append(time_call(theirs, inputs))
    return our_times, their_times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="time one shape with 15 rounds"
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="timed calls of each function"
    )
    args = parser.parse_args()
    shapes = QUICK_SHAPES if args.quick else FULL_SHAPES
    rounds = args.rounds or (15 if args.quick else 30)

    print(f"jax {jax.__version__}, optax {optax.__version__}, {jax.devices()[0]}")
    print(f"ctc_loss value and gradient, {rounds} interleaved calls each, in ms")
    print(
        f"{'B, T, K, N':>20} {'optgrad median':>15} {'optax median':>13} "
        f"{'optgrad min':>12} {'optax min':>10} {'ratio':>6}"
    )
    ratios = []
    for shape in shapes:
        ours, theirs = compare(shape, rounds)
        ratio = statistics.median(ours) / statistics.median(theirs)
        ratios.append(ratio)
        print(
            f"{shape!s:>20} {statistics.median(ours) * 1e3:15.2f} "
            f"{statistics.median(theirs) * 1e3:13.2f} {min(ours) * 1e3:12.2f} "
            f"{min(theirs) * 1e3:10.2f} {ratio:6.2f}"
        )
    geometric_mean = statistics.geometric_mean(ratios)
    print(f"ratio optgrad / optax of the medians, geometric mean: {geometric_mean:.2f}")


if __name__ == "__main__":
    main()
