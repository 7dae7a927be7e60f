"""Pure exemption rules: no I/O, `now` passed in."""
