"""End to end from the ledger: the ledger's own test fixtures (a real identity, rules and ledger on the session's
PostgreSQL and nats-server) are loaded from its tests, not copied, and clearing consumes what its outbox relays."""

from __future__ import annotations

import importlib.util
import os
import sys

_LEDGER_API = os.path.join(os.path.dirname(__file__), "..", "..", "..", "ledger", "tests", "api")
_INTEGRATION = os.path.join(os.path.dirname(__file__), "..", "integration")
for path in (_LEDGER_API, _INTEGRATION):  # ledger_api_helpers.py, clearing_helpers.py
    if path not in sys.path:
        sys.path.insert(0, path)

_spec = importlib.util.spec_from_file_location("ledger_api_conftest", os.path.join(_LEDGER_API, "conftest.py"))
assert _spec and _spec.loader
_ledger_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ledger_conftest)
ledger_rules = _ledger_conftest.ledger_rules
ledger_identity = _ledger_conftest.ledger_identity
ledger = _ledger_conftest.ledger
