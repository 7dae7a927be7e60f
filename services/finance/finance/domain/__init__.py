"""Pure finance rules: no I/O, `now` passed in."""
