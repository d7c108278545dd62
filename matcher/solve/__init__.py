"""Exact solvers over the scored graph: exposure caps for batches (groups and seating next)."""
