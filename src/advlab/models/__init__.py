"""Networks: Ganin's DANN model for digits (and, later, DCGAN and the LeNet evaluator)."""
