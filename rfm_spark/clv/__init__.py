"""Customer lifetime value: sufficient statistics in Spark, BG/NBD, Pareto/NBD and
Gamma-Gamma fitted on the driver from grouped statistics (CONTRACT section 4)."""
