"""Ledger API tests: the fixtures `ledger`, `ledger_identity`, `ledger_rules` (the repo-root conftest.py: a ledger app
on a fresh database calling a real identity and rules in-process, on the session's PostgreSQL and the ledger stack's
own nats-server, `ledger_nats_url`); this folder holds their helpers."""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(__file__)
if _HERE not in sys.path:  # ledger_api_helpers.py, importable under --import-mode=importlib
    sys.path.insert(0, _HERE)
