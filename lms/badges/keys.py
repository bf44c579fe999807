"""The issuer's Ed25519 signing keys: owner-only files in the instance folder, rotated by hand.

Each key is one file `<instance>/credential_keys/<kid>.json` (0600), its `kid` the key's
RFC 7638 thumbprint. The signing key is the one file that still holds its private part;
rotation writes a new key first and then rewrites the old file with its public part only, so
a retired key can no longer sign anything yet stays published (old credentials still verify).
Nothing here prints or logs a private part: `Keyring` and `SigningKey` never show it.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc.jwk import OKPKey

from lms.clock import utcnow
from lms.private_files import FILE_MODE, private_folder, write_private_bytes

KEYS_FOLDER = "credential_keys"
CURVE = "Ed25519"
# The private member of an OKP JWK (RFC 8037); a published key never carries it.
PRIVATE_MEMBER = "d"


class KeyFileError(Exception):
    """A key file cannot be read; the message names the file, never its contents."""


@dataclass(frozen=True)
class SigningKey:
    """The key that signs from now on: its kid and the joserfc key (never shown)."""

    kid: str
    key: OKPKey = field(repr=False)


@dataclass(frozen=True)
class Keyring:
    """Every key of the issuer, newest first: the signing key and all public JWKs."""

    signing: SigningKey | None
    public_jwks: tuple[dict[str, str], ...]

    @property
    def kids(self) -> tuple[str, ...]:
        """The ids of every published key, newest first."""
        return tuple(jwk["kid"] for jwk in self.public_jwks)


def keys_folder(instance: str | Path) -> Path:
    """Where the keys of this instance live."""
    return Path(instance) / KEYS_FOLDER


def _public_jwk(key: OKPKey, kid: str) -> dict[str, str]:
    """The public JWK that verifiers fetch: kty, crv, x, with its kid, use and alg."""
    public = key.as_dict(private=False)
    return {
        "kty": public["kty"],
        "crv": public["crv"],
        "x": public["x"],
        "kid": kid,
        "use": "sig",
        "alg": "EdDSA",
    }


def _read(path: Path) -> dict[str, Any]:
    """One key file as a dict (KeyFileError naming the file when it is unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KeyFileError(f"{path} is not a readable key file") from error
    if not isinstance(data, dict) or not isinstance(data.get("jwk"), dict):
        raise KeyFileError(f"{path} is not a key file (no jwk)")
    return data


def load_keyring(folder: str | Path) -> Keyring:
    """Read every key in the folder (an empty keyring when there is none yet)."""
    root = Path(folder)
    try:
        paths = sorted(root.glob("*.json"))
    except OSError:
        paths = []
    entries = []
    for path in paths:
        data = _read(path)
        try:
            key = OKPKey.import_key(data["jwk"])
        except Exception as error:  # joserfc raises several kinds for a malformed JWK
            raise KeyFileError(f"{path} does not hold an Ed25519 key") from error
        if key.as_dict(private=False).get("crv") != CURVE:
            raise KeyFileError(f"{path} does not hold an Ed25519 key")
        kid = key.thumbprint()
        entries.append((str(data.get("created", "")), kid, key, PRIVATE_MEMBER in data["jwk"]))
    entries.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    signing = next((SigningKey(kid, key) for _, kid, key, private in entries if private), None)
    return Keyring(signing, tuple(_public_jwk(key, kid) for _, kid, key, _ in entries))


def _created() -> str:
    """When a key was made, for ordering keys (a UTC timestamp, not the programme's day)."""
    return utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _write_new_key(folder: Path) -> SigningKey:
    """Make a key and write it owner-only, refusing to overwrite a file of the same name."""
    key = OKPKey.generate_key(CURVE, private=True)
    kid = key.thumbprint()
    data = {"created": _created(), "jwk": key.as_dict(private=True)}
    path = folder / f"{kid}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    return SigningKey(kid, key)


def ensure_signing_key(folder: str | Path) -> Keyring:
    """The keyring, with a first signing key made (owner-only) when there is none yet."""
    keyring = load_keyring(folder)
    if keyring.signing is not None:
        return keyring
    _write_new_key(private_folder(folder))
    return load_keyring(folder)


def rotate(folder: str | Path) -> tuple[str, str | None]:
    """Make a new signing key and retire the current one (its public part stays published).

    Returns (new kid, retired kid or None). The new key is written before the old one loses
    its private part, so a crash between the two steps leaves two private keys, of which the
    newer signs; the next rotation retires both.
    """
    root = private_folder(folder)
    before = load_keyring(root)
    new = _write_new_key(root)
    for path in sorted(root.glob("*.json")):
        if path.name == f"{new.kid}.json":
            continue
        data = _read(path)
        if PRIVATE_MEMBER in data["jwk"]:
            data["jwk"] = {k: v for k, v in data["jwk"].items() if k != PRIVATE_MEMBER}
            data["retired"] = _created()
            write_private_bytes(path, json.dumps(data).encode("utf-8"))
    return new.kid, before.signing.kid if before.signing else None


def main(argv: list[str] | None = None) -> int:
    """`python -m lms.badges.keys --instance DIR`: make the first signing key if none exists."""
    import argparse

    from lms.instance_settings import DEFAULT_INSTANCE

    parser = argparse.ArgumentParser(description="Make the credential signing key (once).")
    parser.add_argument("--instance", default=str(DEFAULT_INSTANCE), help="the instance folder")
    args = parser.parse_args(argv)
    folder = keys_folder(args.instance)
    try:
        keyring = ensure_signing_key(folder)
    except KeyFileError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    assert keyring.signing is not None
    print(f"Credential signing key {keyring.signing.kid} in {folder} (owner-only).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
