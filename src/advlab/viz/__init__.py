"""Figures: image grids (Pillow) and curves (matplotlib, Agg backend)."""
