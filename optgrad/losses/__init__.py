"""Loss functions: pure array functions that work under jit, vmap and grad.

Each returns one value per example unless it takes a ``reduction`` argument.
"""

from optgrad.losses._classification import (
    poly_loss_cross_entropy as poly_loss_cross_entropy,
)
from optgrad.losses._classification import (
    safe_softmax_cross_entropy as safe_softmax_cross_entropy,
)
from optgrad.losses._classification import smooth_labels as smooth_labels
from optgrad.losses._classification import (
    softmax_cross_entropy as softmax_cross_entropy,
)
from optgrad.losses._classification import (
    softmax_cross_entropy_with_integer_labels as softmax_cross_entropy_with_integer_labels,  # noqa: E501
)
from optgrad.losses._detection import box_iou_loss as box_iou_loss
from optgrad.losses._detection import complete_box_iou_loss as complete_box_iou_loss
from optgrad.losses._detection import distance_box_iou_loss as distance_box_iou_loss
from optgrad.losses._detection import (
    generalized_box_iou_loss as generalized_box_iou_loss,
)
from optgrad.losses._divergence import convex_kl_divergence as convex_kl_divergence
from optgrad.losses._divergence import (
    generalized_kl_divergence as generalized_kl_divergence,
)
from optgrad.losses._divergence import kl_divergence as kl_divergence
from optgrad.losses._divergence import (
    kl_divergence_with_log_targets as kl_divergence_with_log_targets,
)
from optgrad.losses._margin import hinge_loss as hinge_loss
from optgrad.losses._margin import multiclass_hinge_loss as multiclass_hinge_loss
from optgrad.losses._margin import (
    multiclass_perceptron_loss as multiclass_perceptron_loss,
)
from optgrad.losses._margin import perceptron_loss as perceptron_loss
from optgrad.losses._probabilities import binary_cross_entropy as binary_cross_entropy
from optgrad.losses._probabilities import (
    categorical_cross_entropy as categorical_cross_entropy,
)
from optgrad.losses._probabilities import (
    sparse_categorical_cross_entropy as sparse_categorical_cross_entropy,
)
from optgrad.losses._ranking import ranking_softmax_loss as ranking_softmax_loss
from optgrad.losses._regression import absolute_error as absolute_error
from optgrad.losses._regression import huber_loss as huber_loss
from optgrad.losses._regression import l2_loss as l2_loss
from optgrad.losses._regression import log_cosh as log_cosh
from optgrad.losses._regression import squared_error as squared_error
from optgrad.losses._segmentation import binary_dice_loss as binary_dice_loss
from optgrad.losses._segmentation import dice_loss as dice_loss
from optgrad.losses._segmentation import jaccard_loss as jaccard_loss
from optgrad.losses._segmentation import (
    multiclass_generalized_dice_loss as multiclass_generalized_dice_loss,
)
from optgrad.losses._sequence import ctc_loss as ctc_loss
from optgrad.losses._sequence import (
    ctc_loss_with_forward_probs as ctc_loss_with_forward_probs,
)
from optgrad.losses._sequence import sequence_cross_entropy as sequence_cross_entropy
from optgrad.losses._sigmoid import (
    sigmoid_binary_cross_entropy as sigmoid_binary_cross_entropy,
)
from optgrad.losses._sigmoid import sigmoid_focal_loss as sigmoid_focal_loss
from optgrad.losses._similarity import cosine_distance as cosine_distance
from optgrad.losses._similarity import cosine_similarity as cosine_similarity
from optgrad.losses._similarity import ntxent as ntxent
from optgrad.losses._similarity import triplet_margin_loss as triplet_margin_loss
from optgrad.losses._sparsemax import (
    multiclass_sparsemax_loss as multiclass_sparsemax_loss,
)
from optgrad.losses._sparsemax import sparsemax_loss as sparsemax_loss
