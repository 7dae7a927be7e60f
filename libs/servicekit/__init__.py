"""What every Kezhuan service shares: settings, database, outbox, inbox, NATS, auth, errors, clock."""
