"""Finance use cases, one module per aggregate: load → the domain decides → save → outbox.

Every function works in the caller's transaction (it flushes, never commits).
"""
