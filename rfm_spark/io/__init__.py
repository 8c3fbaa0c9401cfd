"""All reads and writes: the raw landing, Delta tables (paths or catalog names)."""
