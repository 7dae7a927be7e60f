"""Kezhuan API gateway: routing, auth check, request ids, limits, metrics, merged API documents."""
