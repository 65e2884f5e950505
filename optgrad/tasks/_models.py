"""Flax NNX models of the built-in tasks.

This module imports Flax at the top, so the task registry imports it only
when a model is built.

The image models compute their convolutions as a dense layer over patches
(the shifted copies of the input stacked along the feature axis) rather than
with ``nnx.Conv``. The two are the same function. On CPU with jax 0.10.2, though,
XLA runs the weight gradient of ``lax.conv_general_dilated`` about 40 times
slower inside a ``lax.scan`` than outside it (80 ms against 2 ms per step for
a 1-D convolution of 64 channels over 48 positions, batch 64, measured on a
2-core x86 machine), and ``fit`` runs every epoch inside a scan. With
patches, the weight gradient is a matrix product.
"""

import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx


class MLP(nnx.Module):
    """A multilayer perceptron with ReLU between its dense layers."""

    def __init__(self, sizes: Sequence[int], *, rngs: nnx.Rngs):
        self.layers = nnx.List(
            [
                nnx.Linear(size_in, size_out, rngs=rngs)
                for size_in, size_out in itertools.pairwise(sizes)
            ]
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = nnx.relu(layer(x))
        return self.layers[-1](x)


def _shifted_1d(x: jax.Array, width: int) -> jax.Array:
    """Stack ``width`` shifted copies of ``[batch, length, features]`` inputs.

    Zero padding keeps the length ("SAME" padding), so position ``t`` of the
    result contains the inputs at ``t - width // 2`` to ``t + (width - 1) // 2``.
    """
    before = width // 2
    after = width - 1 - before
    padded = jnp.pad(x, ((0, 0), (before, after), (0, 0)))
    length = x.shape[1]
    return jnp.concatenate([padded[:, i : i + length] for i in range(width)], axis=-1)


def _shifted_2d(x: jax.Array, size: int) -> jax.Array:
    """Stack the ``size`` x ``size`` neighbourhood of each pixel of ``[b, h, w, c]``."""
    before = size // 2
    after = size - 1 - before
    padded = jnp.pad(x, ((0, 0), (before, after), (before, after), (0, 0)))
    height, width = x.shape[1], x.shape[2]
    patches = [
        padded[:, i : i + height, j : j + width]
        for i in range(size)
        for j in range(size)
    ]
    return jnp.concatenate(patches, axis=-1)


class PatchConv1D(nnx.Module):
    """A 1-D convolution with "SAME" padding, computed as a dense layer on patches."""

    def __init__(self, features_in: int, features_out: int, width: int, *, rngs):
        self.width = width
        self.dense = nnx.Linear(features_in * width, features_out, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.dense(_shifted_1d(x, self.width))


class PatchConv2D(nnx.Module):
    """A 2-D convolution with "SAME" padding, computed as a dense layer on patches."""

    def __init__(self, features_in: int, features_out: int, size: int, *, rngs):
        self.size = size
        self.dense = nnx.Linear(features_in * size * size, features_out, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.dense(_shifted_2d(x, self.size))


class StringReader(nnx.Module):
    """Per-column class scores for a row of digits: three 1-D convolutions.

    The convolutions are 7, 5 and 3 columns wide, so each score sees 13
    columns: a whole 8-column digit and parts of its neighbours.

    Input ``[batch, columns, 8]`` (each column of the 8-pixel-high canvas is
    one time step), output ``[batch, columns, 11]``: the CTC blank (index 0)
    and the digits 0 to 9 (indices 1 to 10).
    """

    def __init__(self, *, rngs: nnx.Rngs, features: int = 96):
        self.first = PatchConv1D(8, features, 7, rngs=rngs)
        self.second = PatchConv1D(features, features, 5, rngs=rngs)
        self.scores = PatchConv1D(features, 11, 3, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = nnx.relu(self.first(x))
        x = nnx.relu(self.second(x))
        return self.scores(x)


class BoxRegressor(nnx.Module):
    """A box ``(x1, y1, x2, y2)`` in canvas fractions for a ``[batch, 32, 32]`` image.

    The network predicts the centre and the size through a sigmoid, so every
    box lies in the unit square and has ``x2 >= x1`` and ``y2 >= y1``.
    """

    def __init__(self, *, rngs: nnx.Rngs, pixels: int = 32 * 32):
        self.mlp = MLP([pixels, 256, 128, 4], rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        outputs = jax.nn.sigmoid(self.mlp(x.reshape(x.shape[0], -1)))
        centre, size = outputs[:, :2], outputs[:, 2:]
        return jnp.concatenate([centre - size / 2, centre + size / 2], axis=-1)


class MaskSegmenter(nnx.Module):
    """Per-pixel logits of "digit ink" for ``[batch, height, width]`` images."""

    def __init__(self, *, rngs: nnx.Rngs, features: int = 16):
        self.first = PatchConv2D(1, features, 3, rngs=rngs)
        self.second = PatchConv2D(features, features, 3, rngs=rngs)
        self.logits = nnx.Linear(features, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = nnx.relu(self.first(x[..., None]))
        x = nnx.relu(self.second(x))
        return self.logits(x)[..., 0]
