"""The named optimizers, each one ``chain`` of transforms."""

from optgrad.optimizers._adam import adam as adam
from optgrad.optimizers._adam import adamw as adamw
from optgrad.optimizers._adam import nadam as nadam
from optgrad.optimizers._adam import nadamw as nadamw
from optgrad.optimizers._adam_variants import adabelief as adabelief
from optgrad.optimizers._adam_variants import adamax as adamax
from optgrad.optimizers._adam_variants import adamaxw as adamaxw
from optgrad.optimizers._adam_variants import amsgrad as amsgrad
from optgrad.optimizers._adam_variants import radam as radam
from optgrad.optimizers._adam_variants import yogi as yogi
from optgrad.optimizers._adan import adan as adan
from optgrad.optimizers._lion import lion as lion
from optgrad.optimizers._noisy_sgd import noisy_sgd as noisy_sgd
from optgrad.optimizers._novograd import novograd as novograd
from optgrad.optimizers._optimistic_adam import optimistic_adam as optimistic_adam
from optgrad.optimizers._optimistic_adam import optimistic_adam_v2 as optimistic_adam_v2
from optgrad.optimizers._sgd import sgd as sgd
