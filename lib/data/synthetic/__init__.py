"""Seeded generators of the synthetic stand-ins for the papers' private microscopy datasets."""
