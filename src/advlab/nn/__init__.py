"""Small building blocks: gradient reversal and the model input stage."""

from advlab.nn.grl import GradientReversal, grad_reverse, scale_grad
from advlab.nn.input import InputNorm

__all__ = ["GradientReversal", "grad_reverse", "scale_grad", "InputNorm"]
