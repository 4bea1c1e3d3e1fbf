"""Budget tests: a clearing app on the session's real PostgreSQL and a nats-server of its own, fed with real
settlement events, reading the fund budgets from a real rules app (its 150222 policy: 003 Guyang)."""

from __future__ import annotations

import os
import sys

_HERE = os.path.join(os.path.dirname(__file__), "..", "integration")
if _HERE not in sys.path:  # clearing_helpers.py, importable under --import-mode=importlib
    sys.path.insert(0, _HERE)
if os.path.dirname(__file__) not in sys.path:  # ledger_standin.py
    sys.path.insert(0, os.path.dirname(__file__))
