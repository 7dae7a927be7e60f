"""Evaluation's pure rules: events → facts → indicators (EVA-1, EVA-2)."""
