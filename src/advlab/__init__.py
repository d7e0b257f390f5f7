"""advlab: adversarial learning on images (DANN domain adaptation, conditional GANs)."""

__version__ = "0.1.0"
