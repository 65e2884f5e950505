"""The CTC alignment graph and its forward and posterior recursions.

``ctc_loss`` and ``ctc_loss_with_forward_probs`` in ``_sequence`` are built
on these.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from optgrad.losses import _input_checks as checks

# Log-weight of an edge that the CTC alignment graph lacks. It is finite, so
# the shifted log-sum-exp below never computes inf - inf, and its exp is
# exactly 0 in float32 and float64.
_NO_EDGE = -1e30


# ---------------------------------------------------------------------------
# The alignment graph.
#
# A label sequence y_0 .. y_{L-1} is expanded to the states "blank after n
# labels" (n = 0 .. L) and "label y_n" (n = 0 .. L - 1), kept in two arrays
# sized for the padded label length N. In each unpadded frame a state either
# stays or takes one of three moves: from blank n to label n, from label
# n - 1 to blank n, or from label n - 1 to label n. Each move adds a
# log-weight, and the state reached emits the frame's log-probability of its
# class. Padded frames change nothing.
#
# The log-weights reproduce optax 0.2.8's recursion exactly, including its
# use of ``log_epsilon`` in place of log(0):
#   - label n from blank n: 0.
#   - label n from label n - 1: 0, or ``log_epsilon`` when y_{n-1} == y_n
#     (a repeated label must pass through a blank).
#   - blank n from label n - 1: log(1 + exp(log_epsilon)), because optax
#     reaches that blank by two paths, one of them weighted by log_epsilon.
#   - every state other than blank 0 starts at ``log_epsilon``.


class _Graph(NamedTuple):
    """Alignment graphs of a batch of B sequences, T frames and N label positions."""

    blank_logprobs: jax.Array  # (T, B, 1): log-probability of the blank.
    label_logprobs: jax.Array  # (T, B, N): log-probability of each label.
    padded: jax.Array  # (T, B, 1) bool: the frame is padding.
    into_blank: jax.Array  # (B, N + 1): weight of label n - 1 -> blank n.
    skip: jax.Array  # (B, N): weight of label n - 1 -> label n.
    start_blank: jax.Array  # (B, N + 1): log forward variables before frame 0.
    start_label: jax.Array  # (B, N)
    end_blank: jax.Array  # (B, N + 1): 0 on the final states, _NO_EDGE elsewhere.
    end_label: jax.Array  # (B, N)


def _logaddexp(a, b):
    """Return log(exp(a) + exp(b)) elementwise, for finite inputs."""
    return jnp.maximum(a, b) + jnp.log1p(jnp.exp(-jnp.abs(a - b)))


def _logsumexp3(a, b, c):
    """Return log(exp(a) + exp(b) + exp(c)) elementwise, for finite inputs."""
    top = jnp.maximum(jnp.maximum(a, b), c)
    return top + jnp.log(jnp.exp(a - top) + jnp.exp(b - top) + jnp.exp(c - top))


def _prepend(x, value):
    """Add one entry holding ``value`` before the last axis."""
    fill = jnp.full((*x.shape[:-1], 1), value, x.dtype)
    return jnp.concatenate([fill, x], axis=-1)


def _append(x, value):
    """Add one entry holding ``value`` after the last axis."""
    fill = jnp.full((*x.shape[:-1], 1), value, x.dtype)
    return jnp.concatenate([x, fill], axis=-1)


def _shift_right(x, value):
    """Move the last axis one place right, filling with ``value``."""
    return _prepend(x[..., :-1], value) if x.shape[-1] else x


def _shift_left(x, value):
    """Move the last axis one place left, filling with ``value``."""
    return _append(x[..., 1:], value) if x.shape[-1] else x


def run_forward(graph, stack):
    """Run the forward recursion over all frames.

    Returns the log forward variables of the blanks and labels after the
    last frame, and with ``stack`` also those after every frame, shaped
    (T, B, N + 1) and (T, B, N).
    """

    def body(carry, frame):
        blank, label = carry
        blank_logprobs, label_logprobs, padded = frame
        from_label = _prepend(label, _NO_EDGE) + graph.into_blank
        new_blank = _logaddexp(blank, from_label) + blank_logprobs
        previous_label = _shift_right(label, _NO_EDGE) + graph.skip
        new_label = _logsumexp3(label, blank[:, :-1], previous_label) + label_logprobs
        blank = jnp.where(padded, blank, new_blank)
        label = jnp.where(padded, label, new_label)
        return (blank, label), (blank, label) if stack else None

    frames = (graph.blank_logprobs, graph.label_logprobs, graph.padded)
    return lax.scan(body, (graph.start_blank, graph.start_label), frames)


def _run_forward_with_splits(graph):
    """Run the forward recursion and record how each state's probability
    splits among the states it came from.

    Returns the log forward variables after the last frame and five arrays
    of fractions per frame, shaped (T, B, N + 1) for blanks and (T, B, N)
    for labels. For a blank they are the shares of its probability that
    stayed and that came from the previous label. For a label they are the
    shares that stayed, that came from its blank and that came from the
    previous label.
    """

    def body(carry, frame):
        blank, label = carry
        blank_logprobs, label_logprobs, padded = frame

        from_label = _prepend(label, _NO_EDGE) + graph.into_blank
        top = jnp.maximum(blank, from_label)
        blank_stay = jnp.exp(blank - top)
        blank_from_label = jnp.exp(from_label - top)
        total = blank_stay + blank_from_label
        new_blank = top + jnp.log(total) + blank_logprobs
        blank_splits = (blank_stay / total, blank_from_label / total)

        previous_label = _shift_right(label, _NO_EDGE) + graph.skip
        own_blank = blank[:, :-1]
        top = jnp.maximum(jnp.maximum(label, own_blank), previous_label)
        label_stay = jnp.exp(label - top)
        label_from_blank = jnp.exp(own_blank - top)
        label_from_label = jnp.exp(previous_label - top)
        total = label_stay + label_from_blank + label_from_label
        new_label = top + jnp.log(total) + label_logprobs
        label_splits = (
            label_stay / total,
            label_from_blank / total,
            label_from_label / total,
        )

        blank = jnp.where(padded, blank, new_blank)
        label = jnp.where(padded, label, new_label)
        return (blank, label), blank_splits + label_splits

    frames = (graph.blank_logprobs, graph.label_logprobs, graph.padded)
    return lax.scan(body, (graph.start_blank, graph.start_label), frames)


def _run_posteriors(graph, splits, blank_last, label_last, log_likelihood):
    """Return the posterior probability of every state in every frame given
    the labels, shaped (T, B, N + 1) and (T, B, N).

    The recursion runs back from the final states. A state's posterior in
    frame t - 1 is a sum over the states it leads to: their posterior in
    frame t times the share of their probability that came from it. Because
    it multiplies and adds numbers in [0, 1], it needs no exp or log, unlike
    a log-domain backward recursion.
    """
    blank_stay, blank_from_label, label_stay, label_from_blank, label_from_label = (
        splits
    )
    # The shares that a label passes on to blank n + 1 and label n + 1 are
    # laid out at label n outside the loop. On XLA:CPU (jax 0.10.2) a scan
    # ran several times slower when its body shifted a value it had computed.
    to_next_blank = blank_from_label[..., 1:]
    to_next_label = _shift_left(label_from_label, 0.0)
    to_own_label = _append(label_from_blank, 0.0)

    def body(carry, frame):
        blank, label = carry
        stay_blank, own_label, stay_label, next_blank, next_label, padded = frame
        earlier_blank = blank * stay_blank + _append(label, 0.0) * own_label
        earlier_label = (
            label * stay_label
            + blank[:, 1:] * next_blank
            + _shift_left(label, 0.0) * next_label
        )
        earlier_blank = jnp.where(padded, blank, earlier_blank)
        earlier_label = jnp.where(padded, label, earlier_label)
        return (earlier_blank, earlier_label), (blank, label)

    scale = log_likelihood[:, None]
    last = (
        jnp.exp(blank_last + graph.end_blank - scale),
        jnp.exp(label_last + graph.end_label - scale),
    )
    frames = (
        blank_stay,
        to_own_label,
        label_stay,
        to_next_blank,
        to_next_label,
        graph.padded,
    )
    _, posteriors = lax.scan(body, last, frames, reverse=True)
    return posteriors


def final_log_likelihood(graph, blank_last, label_last):
    """Return the log-probability of the labels, shaped (B,)."""
    final = jnp.concatenate(
        [blank_last + graph.end_blank, label_last + graph.end_label], axis=-1
    )
    return jax.nn.logsumexp(final, axis=-1)


@jax.custom_jvp
def ctc_log_likelihood(graph):
    (blank_last, label_last), _ = run_forward(graph, stack=False)
    return final_log_likelihood(graph, blank_last, label_last)


@ctc_log_likelihood.defjvp
def _ctc_log_likelihood_jvp(primals, tangents):
    # The derivative of the log-likelihood with respect to the log-probability
    # that a state emits in an unpadded frame is the state's posterior
    # probability in that frame. Only the tangents of the log-probabilities
    # are used, because the other fields come from the labels and paddings.
    (graph,) = primals
    (tangent,) = tangents
    (blank_last, label_last), splits = _run_forward_with_splits(graph)
    log_likelihood = final_log_likelihood(graph, blank_last, label_last)
    blank_posteriors, label_posteriors = _run_posteriors(
        graph, splits, blank_last, label_last, log_likelihood
    )
    unpadded = jnp.where(graph.padded, 0.0, 1.0).astype(blank_posteriors.dtype)
    blank_tangent = jnp.sum(blank_posteriors * tangent.blank_logprobs, axis=-1)
    label_tangent = jnp.sum(label_posteriors * tangent.label_logprobs, axis=-1)
    total = blank_tangent + label_tangent
    return log_likelihood, jnp.sum(total * unpadded[..., 0], axis=0)


def check_inputs(call, logits, logit_paddings, labels, label_paddings, blank_id):
    """Raise at trace time if the shapes do not fit or ``blank_id`` is invalid."""
    checks.check_rank(call, "logits", logits, 3, "(batch, frames, classes)")
    checks.check_rank(call, "labels", labels, 2, "(batch, label positions)")
    checks.check_same_shape(
        call, ("labels", labels), ("label_paddings", label_paddings)
    )
    batch, frames, classes = np.shape(logits)
    if np.shape(logit_paddings) != (batch, frames):
        raise ValueError(
            f"{call}: logit_paddings has shape {np.shape(logit_paddings)} but logits "
            f"has shape {np.shape(logits)}; logit_paddings must have shape "
            f"{(batch, frames)}, one entry per frame."
        )
    if np.shape(labels)[0] != batch:
        raise ValueError(
            f"{call}: labels has shape {np.shape(labels)} but logits has shape "
            f"{np.shape(logits)}; both must have the same batch size."
        )
    if isinstance(blank_id, bool) or not isinstance(blank_id, int | np.integer):
        raise TypeError(
            f"{call}(blank_id=...) must be an integer, got "
            f"{type(blank_id).__name__} {blank_id!r}."
        )
    if not 0 <= blank_id < classes:
        raise ValueError(
            f"{call}(blank_id={blank_id}) is out of range: logits has {classes} "
            f"classes, so blank_id must be in [0, {classes})."
        )


def build_graph(logits, logit_paddings, labels, label_paddings, blank_id, log_epsilon):
    """Lay out the alignment graph of every sequence in the batch.

    Returns the ``_Graph`` and a tuple of three (batch,) arrays: the number
    of frames each alignment needs, the number of unpadded frames, and
    whether a real label is outside [0, classes).
    """
    dtype = checks.compute_dtype(jnp.result_type(logits))
    logprobs = jax.nn.log_softmax(jnp.asarray(logits).astype(dtype), axis=-1)
    batch, _, classes = logprobs.shape
    max_labels = np.shape(labels)[1]
    epsilon = checks.scalar_as(log_epsilon, dtype)

    labels = jnp.asarray(labels).astype(jnp.int32)
    label_padded = jnp.asarray(label_paddings).astype(dtype) > 0.5
    frame_padded = jnp.asarray(logit_paddings).astype(dtype) > 0.5
    label_lengths = max_labels - jnp.sum(label_padded, axis=1, dtype=jnp.int32)
    positions = jnp.arange(max_labels, dtype=jnp.int32)[None, :]
    is_real = positions < label_lengths[:, None]

    # A -inf log-probability (a class masked out) is raised to a finite
    # floor, because the recursions subtract the largest of their inputs.
    logprobs = jnp.maximum(logprobs, jnp.full((), _NO_EDGE, dtype))
    clipped = jnp.clip(labels, 0, classes - 1)
    label_logprobs = jnp.take_along_axis(
        logprobs, clipped[:, None, :], axis=2, mode="clip"
    )
    blank_logprobs = logprobs[:, :, blank_id : blank_id + 1]
    out_of_range = is_real & ((labels < 0) | (labels >= classes))

    # repeated[b, n] is true when labels[b, n] == labels[b, n - 1].
    repeated = jnp.zeros((batch, max_labels), bool)
    if max_labels > 1:
        repeated = repeated.at[:, 1:].set(labels[:, 1:] == labels[:, :-1])
    skip = jnp.where(repeated, epsilon, jnp.zeros((), dtype))
    skip = jnp.where(positions == 0, jnp.full((), _NO_EDGE, dtype), skip)
    into_blank = jnp.full((batch, max_labels + 1), jax.nn.softplus(epsilon), dtype)
    into_blank = into_blank.at[:, 0].set(_NO_EDGE)

    blank_index = jnp.arange(max_labels + 1, dtype=jnp.int32)[None, :]
    start_blank = jnp.where(blank_index == 0, jnp.zeros((), dtype), epsilon)
    no_edge = jnp.full((), _NO_EDGE, dtype)
    ends_on_blank = blank_index == label_lengths[:, None]
    ends_on_label = positions == label_lengths[:, None] - 1
    graph = _Graph(
        blank_logprobs=jnp.transpose(blank_logprobs, (1, 0, 2)),
        label_logprobs=jnp.transpose(label_logprobs, (1, 0, 2)),
        padded=jnp.transpose(frame_padded)[:, :, None],
        into_blank=into_blank,
        skip=skip,
        start_blank=jnp.broadcast_to(start_blank, (batch, max_labels + 1)),
        start_label=jnp.full((batch, max_labels), epsilon, dtype),
        end_blank=jnp.where(ends_on_blank, jnp.zeros((), dtype), no_edge),
        end_label=jnp.where(ends_on_label, jnp.zeros((), dtype), no_edge),
    )
    repeats = jnp.sum(repeated & is_real, axis=1, dtype=jnp.int32)
    needed_frames = label_lengths + repeats
    available_frames = jnp.sum(~frame_padded, axis=1, dtype=jnp.int32)
    validity = (needed_frames, available_frames, jnp.any(out_of_range, axis=1))
    return graph, validity


def finish_loss(log_likelihood, validity, log_epsilon, zero_infinity):
    """Turn log-likelihoods into the returned per-sequence loss."""
    needed_frames, available_frames, label_out_of_range = validity
    dtype = log_likelihood.dtype
    # Rounding can push the log-likelihood of a certain alignment a few ulps
    # above 0, so the loss is clipped at 0.
    loss = jnp.maximum(-log_likelihood, jnp.zeros((), dtype))
    if zero_infinity:
        floor = jnp.zeros((), dtype)
    else:
        floor = -checks.scalar_as(log_epsilon, dtype)
    loss = jnp.where(needed_frames > available_frames, floor, loss)
    return jnp.where(label_out_of_range, jnp.full((), jnp.nan, dtype), loss)
