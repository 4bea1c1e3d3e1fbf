"""Settings of the identity service (environment, prefix ONESTOP_; DATABASE_URL and NATS_URL unprefixed)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from onestop.common.settings import ServiceSettings
from onestop.identity.domain.pii import PiiCipher, PiiKeyError


class Settings(ServiceSettings):
    """Identity's settings: the PII key ring, the blind-index key, where rules answers, import batching."""

    service: str = "identity"
    # No defaults: identity refuses to start without its keys (`onestop keys generate`; deploy/README.md).
    pii_keys: dict[str, str] = Field(
        description='ONESTOP_PII_KEYS: AES-256-GCM keys by key id, JSON {"k2": "<base64 32 bytes>", ...}; '
        "old keys stay in the ring so data sealed with them still decrypts",
    )
    pii_current_kid: str | None = Field(
        None, description="ONESTOP_PII_CURRENT_KID: the key new ciphertexts use (may be left out of a one-key ring)")
    pii_index_key: str = Field(description="ONESTOP_PII_INDEX_KEY: HMAC key of the blind index (base64, >= 32 bytes)")
    rules_url: str = Field("http://127.0.0.1:8003", description="ONESTOP_RULES_URL: the rules service")
    import_batch_rows: int = Field(2000, ge=100, le=50_000, description="rows per import transaction")
    import_max_bytes: int = Field(
        512 * 1024 * 1024, ge=1024, description="ONESTOP_IMPORT_MAX_BYTES: the largest register upload accepted; "
        "a larger one is refused with 413 (a million-row CSV is ~120 MB)")
    hospital_person_window_days: int = Field(
        90, ge=1, le=3650, description="ONESTOP_HOSPITAL_PERSON_WINDOW_DAYS: a hospital reads GET /v1/persons/{id} "
        "only for persons it checked eligibility for within this many days (otherwise 404)")
    rate_limit_per_minute: int = Field(
        600, ge=0, description="ONESTOP_RATE_LIMIT_PER_MINUTE: requests a minute one hospital or bureau token may "
        "send to this process (a token bucket; 0 = no limit); beyond it 429 with Retry-After. service, operator "
        "and payer tokens are not limited")
    rate_limit_burst: int = Field(60, ge=1, description="ONESTOP_RATE_LIMIT_BURST: requests such a token may send "
                                  "at once before the per-minute rate applies")
    read_pool_size: int = Field(8, ge=1, le=100, description="connections of eligibility's audited-read pool")
    audit_synchronous_commit: Literal["off", "local", "remote_write", "on", "remote_apply"] = Field(
        "off", description="ONESTOP_AUDIT_SYNCHRONOUS_COMMIT: PostgreSQL's synchronous_commit for the eligibility "
        "reads' access-audit commits. 'off' (the default): a read answers once its audit row is committed, "
        "without waiting for the WAL flush; a crash of the database server (not of identity) can lose the rows "
        "of the last ~0.6 s of reads (3 x wal_writer_delay). 'on': each read also waits for the flush (and for "
        "synchronous standbys), at the disk's fsync latency. Every other write of identity is fully synchronous.")
    rules_cache_s: float = Field(300.0, ge=0, description="how long a hospital list fetched from rules is kept")

    @field_validator("pii_keys", mode="before")
    @classmethod
    def _pii_json(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return json.loads(v)
            except json.JSONDecodeError:
                raise ValueError("ONESTOP_PII_KEYS must be JSON: {\"kid\": \"<base64 32 bytes>\"}") from None
        return v

    @model_validator(mode="after")
    def _pii_usable(self) -> Settings:
        if self.pii_current_kid is None:
            if len(self.pii_keys) != 1:
                raise ValueError("ONESTOP_PII_CURRENT_KID: name the current key of a ring of several keys")
            self.pii_current_kid = next(iter(self.pii_keys))
        try:
            self.pii_cipher()
        except PiiKeyError as exc:
            raise ValueError(f"PII keys: {exc}") from None
        return self

    def pii_cipher(self) -> PiiCipher:
        """The cipher built from the key ring (validated at settings load, so start fails fast)."""
        return PiiCipher(self.pii_keys, self.pii_current_kid or "", self.pii_index_key)
