"""Loss functions: pure array functions that work under jit, vmap and grad."""

from optgrad.losses._detection import box_iou_loss as box_iou_loss
from optgrad.losses._detection import complete_box_iou_loss as complete_box_iou_loss
from optgrad.losses._detection import distance_box_iou_loss as distance_box_iou_loss
from optgrad.losses._detection import (
    generalized_box_iou_loss as generalized_box_iou_loss,
)
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
