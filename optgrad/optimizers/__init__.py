"""The named optimizers, each one ``chain`` of transforms."""

from optgrad.optimizers._adam import adam as adam
from optgrad.optimizers._sgd import sgd as sgd
