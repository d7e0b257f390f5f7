"""Data sets as in-memory uint8 tensors: readers, download + verification, domain lookup."""
