"""Clearing integration tests: clearing apps (posting workers and the API) on the session's real PostgreSQL and
a nats-server of each test's own (durables are named by group, so tests must not share a server), fed with real
`SettlementFinalized` / `SettlementReversed` events published to the ledger's stream."""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(__file__)
if _HERE not in sys.path:  # clearing_helpers.py, importable under --import-mode=importlib
    sys.path.insert(0, _HERE)
