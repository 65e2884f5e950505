"""Sequence losses: connectionist temporal classification (CTC) and token
cross-entropy over padded sequences."""

import jax
import jax.numpy as jnp
import numpy as np

from optgrad.losses import _ctc_graph as graphs
from optgrad.losses import _input_checks as checks


def ctc_loss_with_forward_probs(
    logits: jax.typing.ArrayLike,
    logit_paddings: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    label_paddings: jax.typing.ArrayLike,
    *,
    blank_id: int = 0,
    log_epsilon: jax.typing.ArrayLike = -1e5,
    zero_infinity: bool = False,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    r"""Compute the CTC loss and the log forward variables of every frame.

    The forward variables are split as in optax: ``logalpha_blank[t, b, n]``
    is the log-probability of having emitted the first ``n`` labels of
    sequence ``b`` by frame ``t`` and being in a blank, and
    ``logalpha_nonblank[t, b, n]`` that of being on label ``n`` itself. In
    the last frame, ``logalpha_blank`` also counts the paths that end on the
    label before it, so ``-logalpha_blank[-1, b, L_b]`` is the loss of a
    sequence with ``L_b`` labels.

    The gradient of this function comes from differentiating the forward
    recursion; ``ctc_loss`` computes the same loss with a faster gradient.

    Args:
        logits: Unnormalised log-probabilities, shaped (B, T, K) for a batch of
            B sequences of T frames over K classes, the blank included.
        logit_paddings: (B, T) array; 1.0 marks a padded frame and 0.0 a real
            one. Padded frames may be anywhere and are skipped.
        labels: (B, N) integer label sequences.
        label_paddings: (B, N) array; 1.0 marks a padded label position.
            Labels must be right-padded: each row is zeros followed by ones.
        blank_id: The class index of the blank.
        log_epsilon: Finite stand-in for log(0) in the recursion; ``-log_epsilon``
            is the loss of a label sequence that no alignment can produce.
        zero_infinity: Return 0 instead of ``-log_epsilon`` for such a sequence.

    Returns:
        ``(loss, logalpha_blank, logalpha_nonblank)``: the (B,) per-sequence
        loss and two arrays shaped (T, B, N + 1) and (T, B, N).

    Raises:
        ValueError: If the shapes do not fit together or ``blank_id`` is not
            a class of ``logits``.

    Notes:
        The loss, the forward variables and their gradients follow optax
        0.2.8's ``ctc_loss_with_forward_probs`` except in three cases.
        A label sequence that needs more frames than the sequence has (its
        length plus one blank between each pair of equal neighbours) returns
        exactly ``-log_epsilon`` with a zero gradient, where optax returns a
        slightly larger value with a nonzero gradient. The loss is clipped at
        0, where optax can return slightly negative values such as -4e-9 for
        a confident correct alignment. A real label outside
        ``[0, K)`` gives NaN, where optax gives that label a probability of 1.
        Logits of 16-bit floats are computed and returned in float32, because
        ``-log_epsilon`` overflows float16.

    References:
        Graves et al., "Connectionist temporal classification: labelling
        unsegmented sequence data with recurrent neural networks", ICML 2006.
        https://doi.org/10.1145/1143844.1143891
    """
    call = "ctc_loss_with_forward_probs"
    graphs.check_inputs(call, logits, logit_paddings, labels, label_paddings, blank_id)
    graph, validity = graphs.build_graph(
        logits, logit_paddings, labels, label_paddings, blank_id, log_epsilon
    )
    (blank_last, label_last), (logalpha_blank, logalpha_nonblank) = graphs.run_forward(
        graph, stack=True
    )
    log_likelihood = graphs.final_log_likelihood(graph, blank_last, label_last)
    loss = graphs.finish_loss(log_likelihood, validity, log_epsilon, zero_infinity)

    if logalpha_blank.shape[0] > 0:
        # In the last frame, blank n also takes the paths that end on label
        # n - 1.
        last = logalpha_blank[-1]
        last = last.at[:, 1:].set(jnp.logaddexp(last[:, 1:], logalpha_nonblank[-1]))
        logalpha_blank = logalpha_blank.at[-1].set(last)
    return loss, logalpha_blank, logalpha_nonblank


def ctc_loss(
    logits: jax.typing.ArrayLike,
    logit_paddings: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    label_paddings: jax.typing.ArrayLike,
    *,
    blank_id: int = 0,
    log_epsilon: jax.typing.ArrayLike = -1e5,
    zero_infinity: bool = False,
) -> jax.Array:
    """Compute the connectionist temporal classification (CTC) loss.

    The loss of a sequence is the negative log-probability of its labels,
    summed over every alignment of the labels to the frames that inserts
    blanks and repeats symbols. The arguments, the padding conventions and
    the differences from optax are those of ``ctc_loss_with_forward_probs``.

    Args:
        logits: (B, T, K) unnormalised log-probabilities, the blank included.
        logit_paddings: (B, T) array; 1.0 marks a padded frame.
        labels: (B, N) integer label sequences, right-padded.
        label_paddings: (B, N) array; 1.0 marks a padded label position.
        blank_id: The class index of the blank.
        log_epsilon: Finite stand-in for log(0); ``-log_epsilon`` is the loss
            of a label sequence that no alignment can produce.
        zero_infinity: Return 0 instead of ``-log_epsilon`` for such a
            sequence, as PyTorch's ``ctc_loss(zero_infinity=True)`` does.

    Returns:
        The (B,) per-sequence loss, in float32 for 16-bit logits.

    Raises:
        ValueError: If the shapes do not fit together or ``blank_id`` is not
            a class of ``logits``.

    Notes:
        The gradient comes from a backward recursion over the posterior
        probabilities of the alignment states instead of from differentiating
        the forward recursion. It equals optax 0.2.8's gradient up to float32
        rounding and is closer to the float64 gradient on long sequences,
        because the recursion multiplies numbers in [0, 1] instead of
        subtracting large log-probabilities.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> logits = jnp.zeros((1, 4, 3))
        >>> loss = optgrad.losses.ctc_loss(
        ...     logits, jnp.zeros((1, 4)), jnp.array([[1, 2]]), jnp.zeros((1, 2)))
        >>> loss.shape
        (1,)
    """
    call = "ctc_loss"
    graphs.check_inputs(call, logits, logit_paddings, labels, label_paddings, blank_id)
    graph, validity = graphs.build_graph(
        logits, logit_paddings, labels, label_paddings, blank_id, log_epsilon
    )
    log_likelihood = graphs.ctc_log_likelihood(graph)
    return graphs.finish_loss(log_likelihood, validity, log_epsilon, zero_infinity)


def sequence_cross_entropy(
    logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    label_paddings: jax.typing.ArrayLike,
    *,
    label_smoothing: jax.typing.ArrayLike = 0.0,
) -> jax.Array:
    r"""Compute the mean token cross-entropy of each padded sequence.

    For a token with label ``y`` among ``K`` classes and smoothing
    ``epsilon``, the loss is

    .. math::
        (1 - \epsilon) (-\log p_y) + \frac{\epsilon}{K} \sum_k (-\log p_k),

    the cross-entropy against ``(1 - epsilon) * one_hot(y) + epsilon / K``, as
    in PyTorch's ``cross_entropy(..., label_smoothing=epsilon)``. Each
    sequence's loss is the mean over its real (unpadded) tokens.

    Args:
        logits: Unnormalised log-probabilities, shape (B, T, K).
        labels: Integer labels in ``[0, K)``, shape (B, T).
        label_paddings: Shape (B, T); 1.0 marks a padded token, as in
            ``ctc_loss``. Padded tokens may hold any logits and labels,
            NaN included.
        label_smoothing: The smoothing ``epsilon``, in [0, 1].

    Returns:
        The (B,) per-sequence mean loss, in the dtype of ``logits``. A
        sequence with no real token gives 0 with a zero gradient.

    Raises:
        ValueError: If the shapes do not fit together or ``label_smoothing``
            is outside [0, 1].

    Notes:
        A real token whose label is outside ``[0, K)`` makes its sequence's
        loss NaN. Logits of 16-bit floats are reduced in float32.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> logits = jnp.zeros((2, 3, 4))
        >>> labels = jnp.array([[1, 2, 0], [3, 0, 0]])
        >>> paddings = jnp.array([[0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
        >>> optgrad.losses.sequence_cross_entropy(logits, labels, paddings)
        Array([1.3862944, 0.       ], dtype=float32)
    """
    call = "sequence_cross_entropy"
    checks.check_rank(call, "logits", logits, 3, "(batch, tokens, classes)")
    checks.check_same_shape(
        call, ("labels", labels), ("label_paddings", label_paddings)
    )
    if np.shape(labels) != np.shape(logits)[:2]:
        raise ValueError(
            f"{call}: logits has shape {np.shape(logits)} but labels has shape "
            f"{np.shape(labels)}; labels must have shape {np.shape(logits)[:2]}, "
            "one label per token."
        )
    checks.check_fraction(call, "label_smoothing", label_smoothing)

    result_dtype = checks.output_dtype(jnp.result_type(logits))
    dtype = checks.compute_dtype(jnp.result_type(logits))
    classes = np.shape(logits)[2]
    real = jnp.asarray(label_paddings).astype(dtype) < 0.5
    # Padded tokens are given zero logits so that a NaN or inf there cannot
    # reach the gradient through the softmax.
    logits = jnp.where(real[..., None], jnp.asarray(logits).astype(dtype), 0)
    logprobs = jax.nn.log_softmax(logits, axis=-1)

    labels = jnp.asarray(labels).astype(jnp.int32)
    clipped = jnp.clip(labels, 0, classes - 1)
    token_loss = -jnp.take_along_axis(logprobs, clipped[..., None], axis=-1)[..., 0]
    smoothing_is_zero = (
        isinstance(label_smoothing, int | float) and label_smoothing == 0
    )
    if not smoothing_is_zero:
        smoothing = checks.scalar_as(label_smoothing, dtype)
        uniform_loss = -jnp.mean(logprobs, axis=-1)
        token_loss = (1 - smoothing) * token_loss + smoothing * uniform_loss
    out_of_range = (labels < 0) | (labels >= classes)
    token_loss = jnp.where(out_of_range, jnp.full((), jnp.nan, dtype), token_loss)
    token_loss = jnp.where(real, token_loss, jnp.zeros((), dtype))

    total = jnp.sum(token_loss, axis=1)
    count = jnp.sum(real, axis=1, dtype=dtype)
    return (total / jnp.maximum(count, jnp.ones((), dtype))).astype(result_dtype)
