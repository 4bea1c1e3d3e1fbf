"""Tokens: Ed25519 client tokens from the issuer, service tokens from each service's own key, lifetimes,
audiences, rotation with overlap, and the revocation list (the HTTP side: tests/test_tokens_http.py)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from onestop.common.errors import Unauthorized
from onestop.common.keys import KeySet, key_id, private_key, public_text
from onestop.common.revocation import RevocationList, jti_key, subject_key
from onestop.common.tokens import DEFAULT_MAX_TTL_S, LEEWAY_S, ClientTokenIssuer, ServiceTokenMinter, TokenVerifier
from onestop.contracts.enums import Role

KEYS = KeySet.generate()


def verifier(audience: str = "rules", keys: KeySet = KEYS, **kw: object) -> TokenVerifier:
    return TokenVerifier(audience, keys.issuer_public_keys(), keys.service_public_keys(), **kw)  # type: ignore[arg-type]


def issuer(keys: KeySet = KEYS) -> ClientTokenIssuer:
    return ClientTokenIssuer(keys.issuer_key)


def claims_of(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def test_a_client_token_is_ed25519_with_aud_jti_and_the_roles_lifetime() -> None:
    token = issuer().mint("hospital", hospital_code="H1")
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    c = claims_of(token)
    assert c["aud"] == "onestop" and c["jti"] and c["exp"] - c["iat"] == DEFAULT_MAX_TTL_S["hospital"]  # type: ignore[operator]
    p = verifier().verify(token)
    assert p.role is Role.hospital and p.hospital_code == "H1"
    assert verifier("identity").verify(token).subject == p.subject  # a client token is for every service


def test_minting_beyond_a_roles_maximum_or_a_service_token_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 28800"):
        issuer().mint("operator", ttl_s=8 * 3600 + 1)
    with pytest.raises(ValueError, match="own key"):
        issuer().mint("service")
    with pytest.raises(ValueError, match="--payer"):
        issuer().mint("payer", region_code="410000")
    p = verifier().verify(issuer().mint("bureau", region_code="410000"))
    assert p.can_see_region("411203") and not p.can_see_region("150222")


def test_a_token_living_longer_than_its_role_may_is_refused() -> None:
    """Signed with the real issuer key but hand-made: an operator token for a week."""
    now = int(time.time())
    key = private_key(KEYS.issuer_key)
    claims = {"iss": "onestop", "aud": "onestop", "sub": "operator:x", "role": "operator", "jti": "j1",
              "iat": now, "exp": now + 7 * 86400}
    token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": key_id(key)})
    with pytest.raises(Unauthorized, match="longer than a operator token may"):
        verifier().verify(token)
    shorter = verifier(max_ttl_s={**DEFAULT_MAX_TTL_S, "hospital": 3600})
    with pytest.raises(Unauthorized, match="longer"):
        shorter.verify(issuer().mint("hospital", hospital_code="H1"))


def test_expired_tampered_and_unknown_key_tokens_are_refused() -> None:
    v = verifier()
    expired = issuer().mint("operator", ttl_s=60, issued_at=int(time.time()) - 3600)
    with pytest.raises(Unauthorized, match="expired"):
        v.verify(expired)
    good = issuer().mint("hospital", hospital_code="H1")
    assert v.verify(good).hospital_code == "H1"
    assert v.verify(good).hospital_code == "H1"  # the second time from memory
    with pytest.raises(Unauthorized):
        v.verify(good[:-2] + ("AA" if not good.endswith("AA") else "BB"))
    with pytest.raises(Unauthorized, match="signing key is unknown"):
        v.verify(issuer(KeySet.generate()).mint("operator"))


def test_a_remembered_token_still_expires() -> None:
    """Accepted from memory while valid; refused a second later, once past its expiry and the clock leeway."""
    v = verifier()
    now = int(time.time())
    token = issuer().mint("hospital", hospital_code="H1", ttl_s=70 - LEEWAY_S + 1, issued_at=now - 70)
    assert v.verify(token).hospital_code == "H1"
    assert v.verify(token).hospital_code == "H1"  # from memory
    time.sleep(1.2)
    with pytest.raises(Unauthorized, match="expired"):
        v.verify(token)


def test_issuer_rotation_with_overlap() -> None:
    old, new = KEYS, KeySet.generate()
    token = issuer(old).mint("hospital", hospital_code="H1")
    both = TokenVerifier("rules", [*old.issuer_public_keys(), *new.issuer_public_keys()], old.service_public_keys())
    assert both.verify(token).hospital_code == "H1"
    assert both.verify(issuer(new).mint("operator")).role is Role.operator
    retired = TokenVerifier("rules", new.issuer_public_keys(), old.service_public_keys())
    with pytest.raises(Unauthorized, match="unknown"):
        retired.verify(token)


def test_a_service_token_is_for_one_audience_and_renewed_before_it_expires() -> None:
    minter = ServiceTokenMinter("identity", KEYS.service_keys["identity"], ttl_s=300)
    token = minter.token_for("rules")
    c = claims_of(token)
    assert c["aud"] == "rules" and c["role"] == "service" and c["sub"] == "service:identity" and c["jti"]
    assert c["exp"] - c["iat"] == 300  # type: ignore[operator]
    p = verifier("rules").verify(token)
    assert p.role is Role.service and p.subject == "service:identity"
    with pytest.raises(Unauthorized, match="another audience"):
        verifier("ledger").verify(token)
    assert minter.token_for("rules") == token  # held while fresh
    minter._tokens["rules"] = (time.time() - 1, token)  # two thirds of its life are gone
    assert minter.token_for("rules") != token


def _service_signed(service: str, **claims: object) -> str:
    key = private_key(KEYS.service_keys[service])
    now = int(time.time())
    body = {"iss": f"service:{service}", "sub": f"service:{service}", "aud": "rules", "role": "service",
            "jti": "j", "iat": now, "exp": now + 60, **claims}
    return jwt.encode(body, key, algorithm="EdDSA", headers={"kid": key_id(key)})


def test_a_service_key_cannot_mint_an_operator_token_nor_speak_for_another_service() -> None:
    v = verifier("rules")
    assert v.verify(_service_signed("identity")).role is Role.service
    with pytest.raises(Unauthorized, match="does not match"):
        v.verify(_service_signed("identity", role="operator"))
    with pytest.raises(Unauthorized, match="does not match"):
        v.verify(_service_signed("identity", sub="service:ledger", iss="service:identity"))
    with pytest.raises(Unauthorized):
        v.verify(_service_signed("identity", role="operator", aud="onestop"))
    with pytest.raises(Unauthorized, match="longer"):
        v.verify(_service_signed("identity", exp=int(time.time()) + 3600))


def test_the_issuer_key_cannot_make_a_service_token() -> None:
    key = private_key(KEYS.issuer_key)
    now = int(time.time())
    token = jwt.encode({"iss": "onestop", "aud": "onestop", "sub": "service:identity", "role": "service",
                        "jti": "j", "iat": now, "exp": now + 60}, key, algorithm="EdDSA",
                       headers={"kid": key_id(key)})
    with pytest.raises(Unauthorized, match="does not match"):
        verifier().verify(token)


def test_the_old_shared_development_key_is_refused() -> None:
    """The HS256 key every checkout shipped with until the keys were taken out of the repository."""
    old_dev_key = "onestop-dev-signing-key-change-me-0123456789"
    now = int(time.time())
    token = jwt.encode({"iss": "onestop", "aud": "onestop", "sub": "operator:x", "role": "operator", "jti": "j",
                        "iat": now, "exp": now + 60}, old_dev_key, algorithm="HS256", headers={"kid": "dev"})
    with pytest.raises(Unauthorized, match="signing key is unknown"):
        verifier().verify(token)
    # nor is an HS256 token whose "secret" is the issuer's public key, under the issuer's kid
    pub = private_key(KEYS.issuer_key).public_key()
    confused = jwt.api_jws.PyJWS().encode(json.dumps({"sub": "x"}).encode(), base64.b64decode(public_text(pub)),
                                          algorithm="HS256", headers={"kid": key_id(pub)})
    with pytest.raises(Unauthorized, match="unknown"):
        verifier().verify(confused)


def test_revocation_by_id_and_by_subject_checked_on_remembered_tokens_too() -> None:
    revoked = RevocationList()
    v = verifier(revocations=revoked)
    token = issuer().mint("hospital", hospital_code="H1", subject="hospital:H1")
    assert v.verify(token).hospital_code == "H1"  # now remembered
    revoked.apply(jti_key(str(claims_of(token)["jti"])), json.dumps({"at": time.time()}).encode())
    with pytest.raises(Unauthorized, match="revoked"):
        v.verify(token)
    other = issuer().mint("hospital", hospital_code="H1", subject="hospital:H1",
                          issued_at=int(time.time()) - 10)
    assert v.verify(other).subject == "hospital:H1"
    revoked.apply(subject_key("hospital:H1"), json.dumps({"at": time.time() - 5}).encode())
    with pytest.raises(Unauthorized, match="revoked"):
        v.verify(other)  # issued before the subject's revocation
    renewed = issuer().mint("hospital", hospital_code="H1", subject="hospital:H1")
    assert v.verify(renewed).subject == "hospital:H1"  # issued after it: the HIS goes on
    revoked.apply(subject_key("hospital:H1"), None)  # the entry deleted
    assert v.verify(other).subject == "hospital:H1"


def test_a_key_listed_for_two_owners_is_refused() -> None:
    shared = public_text(Ed25519PrivateKey.generate())
    with pytest.raises(ValueError, match="two owners"):
        TokenVerifier("rules", [shared], {"identity": [shared]})
