"""Time a ``fit`` epoch against a Python loop of jitted optax steps.

Both train the digits MLP (64-512-128-10, plain pytree params) with
``optax.adam(1e-3)`` on the same shuffled batches of the digits training
split. The loop calls one jitted step per batch, which gathers its batch on
the device, so its Python work per step is one call. ``fit`` runs the whole
epoch as one compiled ``lax.scan``.

The two are interleaved: after each ``fit`` epoch a callback times one loop
epoch, so both see the same machine load. Compilation is excluded: the
first epoch of each is a warm-up. The callback also times the same step in
a bare ``lax.scan`` that records only the loss. No compiled epoch of this
step can be faster, so ``loop / scan`` bounds what ``fit`` can gain over
the loop on the machine at hand. The script prints the median epoch
times and both ratios for every batch size.

Usage:
    python benchmarks/bench_fit.py            # 1, 16, 64 and 256; 15 epochs
    python benchmarks/bench_fit.py --quick    # 16 and 64; 5 epochs
"""

import argparse
import itertools
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optgrad import tasks
from optgrad.training import Callback, fit


def init_mlp(key: jax.Array, sizes: list[int]) -> list[dict[str, jax.Array]]:
    params = []
    for size_in, size_out in itertools.pairwise(sizes):
        key, subkey = jax.random.split(key)
        scale = 1.0 / np.sqrt(size_in)
        weights = jax.random.uniform(
            subkey, (size_in, size_out), minval=-scale, maxval=scale
        )
        params.append({"w": weights, "b": jnp.zeros(size_out)})
    return params


def loss_fn(
    params: list[dict[str, jax.Array]], batch: dict[str, jax.Array]
) -> jax.Array:
    x = batch["x"]
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    logits = x @ params[-1]["w"] + params[-1]["b"]
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]))


class LoopTimer(Callback):
    """After every ``fit`` epoch, time one epoch of the per-step Python loop."""

    def __init__(self, params, optimizer, data, batch_size, key):
        self.data = data
        self.batch_size = batch_size
        self.key = key
        self.params = params
        self.state = optimizer.init(params)
        self.seconds: list[float] = []

        @jax.jit
        def step(params, state, data, indices):
            batch = jax.tree.map(lambda x: jnp.take(x, indices, axis=0), data)
            loss, grads = jax.value_and_grad(loss_fn)(params, batch)
            updates, state = optimizer.update(grads, state, params)
            return optax.apply_updates(params, updates), state, loss

        self.step = step

        @jax.jit
        def scan_epoch(params, state, data, batches):
            def body(carry, indices):
                params, state, loss = step(*carry, data, indices)
                return (params, state), loss

            (params, state), losses = jax.lax.scan(body, (params, state), batches)
            return params, state, losses

        self.scan_epoch = scan_epoch
        self.scan_params = params
        self.scan_state = self.state
        self.scan_seconds: list[float] = []

    def on_epoch_end(self, epoch, params, history):
        num_examples = self.data["y"].shape[0]
        # The order fit documents: a permutation from fold_in(key, epoch).
        order = jax.random.permutation(
            jax.random.fold_in(self.key, epoch), num_examples
        )
        full = num_examples // self.batch_size * self.batch_size
        stacked = order[:full].reshape(-1, self.batch_size)
        batches = list(stacked)
        if full < num_examples:
            batches.append(order[full:])
        jax.block_until_ready(batches)
        start = time.perf_counter()
        losses = []
        for indices in batches:
            self.params, self.state, loss = self.step(
                self.params, self.state, self.data, indices
            )
            losses.append(loss)
        jax.block_until_ready((self.params, losses))
        self.seconds.append(time.perf_counter() - start)

        # The same step in a bare lax.scan: one compiled epoch that records
        # nothing but the loss. No compiled epoch of this step does better.
        start = time.perf_counter()
        params, state, losses = self.scan_epoch(
            self.scan_params, self.scan_state, self.data, stacked
        )
        if full < num_examples:
            params, state, _ = self.step(params, state, self.data, order[full:])
        jax.block_until_ready((params, losses))
        self.scan_params, self.scan_state = params, state
        self.scan_seconds.append(time.perf_counter() - start)
        return False


def measure(
    batch_size: int, epochs: int, data: dict
) -> tuple[float, float, float, int]:
    """Return the median epoch times of fit, the loop and the bare scan, and steps."""
    key = jax.random.key(0)
    params = init_mlp(jax.random.key(1), [64, 512, 128, 10])
    optimizer = optax.adam(1e-3)
    timer = LoopTimer(params, optimizer, data, batch_size, key)
    _, history = fit(
        loss_fn,
        params,
        optimizer,
        data,
        batch_size=batch_size,
        epochs=epochs + 1,
        key=key,
        callbacks=[timer],
        progress=False,
    )
    steps = history.epoch_end_step[0]
    return (
        statistics.median(history.epoch_seconds[1:]),
        statistics.median(timer.seconds[1:]),
        statistics.median(timer.scan_seconds[1:]),
        steps,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and epochs")
    args = parser.parse_args()
    batch_sizes = (16, 64) if args.quick else (1, 16, 64, 256)
    epochs = 5 if args.quick else 15

    splits = tasks.get_task("digits").load()
    data = {"x": jnp.asarray(splits.train["x"]), "y": jnp.asarray(splits.train["y"])}
    print(
        f"jax {jax.__version__}, {jax.devices()[0].platform}, "
        f"{data['y'].shape[0]} training examples, median of {epochs} epochs"
    )
    columns = (
        "batch",
        "steps",
        "fit ms",
        "scan ms",
        "loop ms",
        "loop/fit",
        "loop/scan",
    )
    print("{:>6} {:>6} {:>8} {:>8} {:>8} {:>9} {:>10}".format(*columns))
    for batch_size in batch_sizes:
        fit_seconds, loop_seconds, scan_seconds, steps = measure(
            batch_size, epochs, data
        )
        print(
            f"{batch_size:>6} {steps:>6} {fit_seconds * 1e3:>8.2f} "
            f"{scan_seconds * 1e3:>8.2f} {loop_seconds * 1e3:>8.2f} "
            f"{loop_seconds / fit_seconds:>8.2f}x {loop_seconds / scan_seconds:>9.2f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
