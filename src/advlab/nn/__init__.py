"""Small building blocks: gradient reversal, the model input stage, activation noise."""

from advlab.nn.grl import GradientReversal, grad_reverse, scale_grad
from advlab.nn.input import InputNorm
from advlab.nn.noise import GaussianNoise

__all__ = ["GaussianNoise", "GradientReversal", "InputNorm", "grad_reverse", "scale_grad"]
