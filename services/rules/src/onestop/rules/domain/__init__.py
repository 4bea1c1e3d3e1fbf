"""The pure domain core of `rules`: policies, fee classification, the payer waterfall."""

from onestop.rules.domain.nhsa import NhsaSettlement, to_nhsa
from onestop.rules.domain.policy import (
    NoPolicyInForce,
    ParsedPolicy,
    PolicyError,
    PolicyInvalid,
    parse_policy_text,
)
from onestop.rules.domain.registry import PolicyRegistry, validate_policy_text
from onestop.rules.domain.resolved import ResolvedPolicy
from onestop.rules.domain.simulation import SimulationResult, simulate
from onestop.rules.domain.waterfall import compute_quote

__all__ = [
    "NhsaSettlement",
    "NoPolicyInForce",
    "ParsedPolicy",
    "PolicyError",
    "PolicyInvalid",
    "PolicyRegistry",
    "ResolvedPolicy",
    "SimulationResult",
    "compute_quote",
    "parse_policy_text",
    "simulate",
    "to_nhsa",
    "validate_policy_text",
]
