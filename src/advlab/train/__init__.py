"""Domain-adaptation training: the loop (adapt), its config, the lr and lambda schedules,
the label-free validators scored each epoch, and reloading a finished run's model (restore).
What every trainer shares (run directories, checkpoints, seeded batches, the epoch loop) is
in advlab.runs, the methods' losses and steps in advlab.methods, the GAN trainer in advlab.gan."""
