"""The named optimizers, each one ``chain`` of transforms."""

from optgrad.optimizers._adam import adam as adam
from optgrad.optimizers._adaptive import adadelta as adadelta
from optgrad.optimizers._adaptive import adafactor as adafactor
from optgrad.optimizers._adaptive import adagrad as adagrad
from optgrad.optimizers._adaptive import rmsprop as rmsprop
from optgrad.optimizers._adaptive import sm3 as sm3
from optgrad.optimizers._layerwise import fromage as fromage
from optgrad.optimizers._layerwise import lamb as lamb
from optgrad.optimizers._layerwise import lars as lars
from optgrad.optimizers._sgd import (
    optimistic_gradient_descent as optimistic_gradient_descent,
)
from optgrad.optimizers._sgd import polyak_sgd as polyak_sgd
from optgrad.optimizers._sgd import rprop as rprop
from optgrad.optimizers._sgd import sgd as sgd
from optgrad.optimizers._sgd import sign_sgd as sign_sgd
from optgrad.optimizers._sgd import signum as signum
