"""The run engine shared by every trainer: run directories and their files, atomic writes,
checkpoints, seeded batch order, progress, and the epoch loop. It imports nothing else of
advlab but its errors, so data, models, methods and trainers can all build on it."""
