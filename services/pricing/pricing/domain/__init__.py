"""Pure pricing rules: no I/O, `now` passed in."""
