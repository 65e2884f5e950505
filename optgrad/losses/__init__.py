"""Loss functions: pure array functions that work under jit, vmap and grad."""

from optgrad.losses._sequence import ctc_loss as ctc_loss
from optgrad.losses._sequence import (
    ctc_loss_with_forward_probs as ctc_loss_with_forward_probs,
)
from optgrad.losses._sequence import sequence_cross_entropy as sequence_cross_entropy
