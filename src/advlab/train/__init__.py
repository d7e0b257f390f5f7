"""The training loop and what it needs: schedules, batching, checkpoints, run directories."""
