"""Tools that are not the pipeline: the synthetic landing generator."""
