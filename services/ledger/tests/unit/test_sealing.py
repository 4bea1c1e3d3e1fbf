"""The sealed ID number opens only with the ledger's key and only on its own agreement."""

import pytest

from onestop.ledger.domain.sealing import Sealer, Unsealable


def test_sealed_opens_with_its_key_and_context_only() -> None:
    sealer = Sealer("key-one")
    sealed = sealer.seal("411203194001010011", "agreement-a")
    assert b"411203194001010011" not in sealed
    assert sealer.open(sealed, "agreement-a") == "411203194001010011"
    with pytest.raises(Unsealable):
        sealer.open(sealed, "agreement-b")  # copied onto another agreement's row
    with pytest.raises(Unsealable):
        Sealer("key-two").open(sealed, "agreement-a")  # after the service key rotated
    assert sealer.seal("x", "c") != sealer.seal("x", "c")  # a fresh nonce each time
