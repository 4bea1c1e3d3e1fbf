"""End to end from the ledger: the ledger stack's fixtures of the repo-root conftest.py (a real identity, rules and
ledger on the session's PostgreSQL and their own nats-server, `ledger_nats_url`), shared with the ledger's tests;
clearing consumes what its outbox relays."""

from __future__ import annotations

import os
import sys

_LEDGER_API = os.path.join(os.path.dirname(__file__), "..", "..", "..", "ledger", "tests", "api")
_INTEGRATION = os.path.join(os.path.dirname(__file__), "..", "integration")
for path in (_LEDGER_API, _INTEGRATION, os.path.dirname(__file__)):  # ledger_api_helpers, clearing_helpers, e2e_helpers
    if path not in sys.path:
        sys.path.insert(0, path)
