"""Conditional GANs on MNIST: the training loop, its variants, the evaluator and the metrics."""
