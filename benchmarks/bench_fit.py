"""Time a ``fit`` epoch against a Python loop of jitted optax steps.

Both train the digits MLP (64-512-128-10, plain pytree params) with
``optax.adam(1e-3)`` on the same shuffled batches of the digits training
split. The loop calls one jitted step per batch, which gathers its batch on
the device, so its Python work per step is one call. ``fit`` runs the whole
epoch as one compiled ``lax.scan``.

The two are interleaved: after each ``fit`` epoch a callback times one loop
epoch, so both see the same machine load. Compilation is excluded: the
first epoch of each is a warm-up. The script prints the median epoch time
of each and their ratio for every batch size.

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

    def on_epoch_end(self, epoch, params, history):
        num_examples = self.data["y"].shape[0]
        # The order fit documents: a permutation from fold_in(key, epoch).
        order = jax.random.permutation(
            jax.random.fold_in(self.key, epoch), num_examples
        )
        full = num_examples // self.batch_size * self.batch_size
        batches = list(order[:full].reshape(-1, self.batch_size))
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
        return False


def measure(batch_size: int, epochs: int, data: dict) -> tuple[float, float, int]:
    """Return the median fit epoch, the median loop epoch and steps per epoch."""
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
    columns = ("batch", "steps", "fit epoch ms", "loop epoch ms", "ratio")
    print("{:>6} {:>6} {:>13} {:>14} {:>6}".format(*columns))
    for batch_size in batch_sizes:
        fit_seconds, loop_seconds, steps = measure(batch_size, epochs, data)
        print(
            f"{batch_size:>6} {steps:>6} {fit_seconds * 1e3:>13.2f} "
            f"{loop_seconds * 1e3:>14.2f} {loop_seconds / fit_seconds:>5.1f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
