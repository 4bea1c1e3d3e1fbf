"""onestop.common: settings, money, db, errors, auth, logging, nats, outbox, inbox, idempotency."""
