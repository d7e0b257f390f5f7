"""`advlab reproduce`: the whole DANN and cGAN study from one command, and its report."""
