"""The runner: the only code that reads and writes the warehouse. It plans a run, builds
each layer from the declarations in rfm_spark/registry.py, checks it, writes it with its
declared strategy and records the run."""
