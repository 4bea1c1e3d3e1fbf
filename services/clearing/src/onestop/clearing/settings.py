"""Settings of the clearing service (environment, prefix ONESTOP_; DATABASE_URL and NATS_URL unprefixed)."""

import re

from pydantic import Field, field_validator

from onestop.common.settings import ServiceSettings

_PAYER = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class Settings(ServiceSettings):
    service: str = "clearing"
    payer: str | None = Field(
        None,
        description="ONESTOP_PAYER: a comma list of payers (`basic` or `basic,critical_illness`) makes this "
        "process a worker of the dedicated group of exactly those payers; unset, it is a worker of the catch-all "
        "group, which posts every payer no dedicated group has registered (postings/groups.py). Either way the "
        "process also serves the HTTP API",
    )
    ledger_url: str = Field("http://127.0.0.1:8002", description="ONESTOP_LEDGER_URL: the ledger, whose "
                            "settlements list the reconciliation reads with clearing's `service` token")
    rules_url: str = Field("http://127.0.0.1:8003", description="ONESTOP_RULES_URL: the rules service (fund "
                           "budgets, the claim calendar)")
    budget_check_interval_s: float | None = Field(30.0, gt=0, le=3600, description="ONESTOP_BUDGET_CHECK_"
                                                  "INTERVAL_S: how often fund budgets' 80%/100% are checked; "
                                                  "unset: never (GET /v1/budgets still answers)")
    dependency_timeout_s: float = Field(10.0, gt=0, le=60, description="ONESTOP_DEPENDENCY_TIMEOUT_S: how long "
                                                                       "one ledger page may take")
    reconciliation_lag_s: float = Field(5.0, ge=0, le=3600, description="ONESTOP_RECONCILIATION_LAG_S: the "
                                        "default cut-off is this long ago, so events in flight are no difference")
    posting_batch: int = Field(200, ge=1, le=1000, description="events a posting worker fetches and posts in "
                                                               "one transaction")

    claims_apply_by_day: int = Field(10, ge=1, le=28, description="the day of the month on which the previous "
                                     "month's claims are made automatically (rules' operations "
                                     "`claims.apply_by_day`: 10 in every policy today)")

    @field_validator("payer")
    @classmethod
    def _payers(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        payers = [p.strip() for p in v.split(",")]
        for p in payers:
            if not _PAYER.match(p):
                raise ValueError("ONESTOP_PAYER is a comma list of payer ids (basic,critical_illness …)")
        return ",".join(sorted(set(payers)))

    def payers(self) -> frozenset[str]:
        """This worker's dedicated payers; empty for the catch-all group."""
        return frozenset(self.payer.split(",")) if self.payer else frozenset()
