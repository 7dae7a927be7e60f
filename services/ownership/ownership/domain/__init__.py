"""Pure ownership rules: no I/O, `now` passed in."""
