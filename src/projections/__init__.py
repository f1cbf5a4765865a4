"""Read models built from the event log: one module per projection, and the runner."""
