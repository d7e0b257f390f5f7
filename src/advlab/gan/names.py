"""The variant names that code outside the GAN needs without the GAN itself: the study's plan
reads them, and importing advlab.gan.variants would import torch, two seconds of every
`advlab reproduce` start (and of each restart of a stopped study) that nothing there uses."""

PRACTICAL = ("conditional", "unconditional", "no_label_in_d")  # the seed practical's comparison: its plain variants
REMEDIES = ("pacgan2", "sngan", "projection")  # beside it in the study: each against its plain counterpart
