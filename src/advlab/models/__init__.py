"""Networks: Ganin's DANN model for digits (ganin), the DCGAN generator and discriminator
(dcgan), and the LeNet evaluator behind the GAN metrics (lenet)."""
