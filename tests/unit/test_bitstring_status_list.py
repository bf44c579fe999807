"""The status list encoding (W3C Bitstring Status List) and the did:web name, read back
with the standard library only."""

from __future__ import annotations

import base64
import gzip

import pytest

from lms.badges.signing import did_web
from lms.badges.status import LIST_SIZE, encode_list, index_in_list, list_number


def _bits(encoded: str) -> bytes:
    """The raw bitstring of an encodedList (multibase "u", base64url, GZIP)."""
    assert encoded.startswith("u") and "=" not in encoded
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_an_empty_list_has_131072_clear_bits() -> None:
    """At least 131,072 entries (16 KB), all zero."""
    bits = _bits(encode_list([]))
    assert LIST_SIZE >= 131_072 and len(bits) * 8 == LIST_SIZE
    assert not any(bits)


def test_bit_i_counts_from_the_left_of_the_first_byte() -> None:
    """Index 0 is the first byte's most significant bit, as the spec numbers them."""
    bits = _bits(encode_list([0, 9, LIST_SIZE - 1]))
    assert bits[0] == 0b1000_0000
    assert bits[1] == 0b0100_0000
    assert bits[-1] == 0b0000_0001
    assert sum(bin(b).count("1") for b in bits) == 3


def test_the_same_bits_encode_to_the_same_text() -> None:
    """No timestamp in the GZIP header: the signed list and its ETag are stable."""
    assert encode_list([5, 7]) == encode_list([7, 5])


def test_an_index_outside_the_list_is_refused() -> None:
    """A position past the end is a programming error, not a silently lost bit."""
    with pytest.raises(ValueError):
        encode_list([LIST_SIZE])


def test_global_indexes_split_into_lists() -> None:
    """List n holds the global indexes from n * LIST_SIZE on."""
    assert (list_number(5), index_in_list(5)) == (0, 5)
    assert (list_number(LIST_SIZE + 2), index_in_list(LIST_SIZE + 2)) == (1, 2)


@pytest.mark.parametrize(
    ("url", "did"),
    [
        ("https://training.example.org", "did:web:training.example.org"),
        ("http://127.0.0.1:5000", "did:web:127.0.0.1%3A5000"),
        ("https://example.org/kap/lms", "did:web:example.org:kap:lms"),
    ],
)
def test_did_web_follows_the_public_address(url: str, did: str) -> None:
    """The port's colon is percent-encoded; a path becomes colon-separated segments."""
    assert did_web(url) == did
