"""The study's machinery: profiles, paths, seeds, the numerical setup, the artifact cache, the
provenance header and result files, the papermill pipeline, the papers' published numbers and
the figure helpers every part shares. It imports none of the study's parts."""
