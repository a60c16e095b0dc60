"""Personal data protection: keyed-HMAC learner tokens and scrubbing of free text."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# The `user` object holds names and e-mails by contract: an excerpt drops its content wholesale.
_USER_OBJECT = re.compile(r'"user"\s*:\s*\{[^}]*\}?')
# Native fields, the xAPI properties that identify a learner (an actor's or account's name,
# e-mail, openid, and the registration Open edX fills with the learner's id), and Caliper's
# (a person's login, SIS id and other identifiers, as Canvas sends them).
_PERSONAL_FIELD = re.compile(
    r'"(name|email|firstName|lastName|mbox|mbox_sha1sum|openid|registration'
    r'|user_login|user_sis_id|sis_id|sisSourcedId|login|identifier)"\s*:\s*"[^"]*"?'
)
# A Caliper person (the actor, a grade's assignee, a member) named by its IRI, alone or as the
# id of its entity.
_PERSON_REFERENCE = re.compile(r'("(?:actor|assignee|member)"\s*:\s*(?:\{[^{}]*?"id"\s*:\s*)?")[^"]*"?')
# A learner's id inside another IRI: Canvas user URNs, and the `/users/<id>` or Open edX
# `/user/<id>` path segments of attempt, response and profile IRIs.
_PERSON_IN_IRI = re.compile(r"(urn:instructure:canvas:user:|/users?/)[^/\"\s?#]+")


class Sealer:
    """Seals a learner's name or e-mail for the learner directory (AES-256-GCM under a key of
    its own, the learner's token and the field bound to the ciphertext, so a sealed value read
    back under another learner or field does not open), and opens it again for the web app."""

    def __init__(self, key: bytes):
        self._aead = AESGCM(hashlib.sha256(b"learner-directory\0" + key).digest())

    def seal(self, token: str, field: str, value: str | None) -> bytes | None:
        if not value:
            return None
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, value.encode(), f"{token}\0{field}".encode())

    def seal_person(self, token: str, name: str | None, email: str | None) -> tuple[bytes | None, bytes | None]:
        return self.seal(token, "name", name), self.seal(token, "email", email)

    def open(self, token: str, field: str, sealed: bytes | None) -> str | None:
        if sealed is None:
            return None
        return self._aead.decrypt(sealed[:12], sealed[12:], f"{token}\0{field}".encode()).decode()


class Tokenizer:
    """Turns personal values into stable, non-reversible tokens with a secret key; with a
    `sealer`, also seals names and e-mails for the learner directory (none without one)."""

    def __init__(self, key: bytes, sealer: Sealer | None = None):
        self._key = key
        self.sealer = sealer
        # Learners send many events: tokenizing each distinct id once keeps HMAC off the hot path.
        self.token = lru_cache(maxsize=200_000)(self._token)

    def _token(self, value: str) -> str:
        return hmac.digest(self._key, value.encode(), "sha256").hex()[:32]

    def scrub(self, text: str, *, name: str | None = None) -> str:
        """Replace e-mail addresses, and the learner's own name and its parts, by tokens."""
        text = EMAIL.sub(lambda m: f"[email:{self.token(m.group(0).lower())[:12]}]", text)
        if name:
            parts = sorted({name, *name.split()}, key=len, reverse=True)
            for part in parts:
                if len(part) >= 3:
                    pattern = re.compile(rf"\b{re.escape(part)}\b", re.IGNORECASE)
                    text = pattern.sub(f"[name:{self.token(part.lower())[:12]}]", text)
        return text


def redact_excerpt(raw: bytes, limit: int = 200) -> str:
    """A short, PII-free view of a rejected line for people triaging dead letters."""
    text = raw[: limit * 4].rstrip(b"\r\n").decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    text = _USER_OBJECT.sub('"user":"[redacted]"', text)
    text = _PERSONAL_FIELD.sub(r'"\1":"[redacted]"', text)
    text = _PERSON_REFERENCE.sub(r'\1[redacted]"', text)
    text = _PERSON_IN_IRI.sub(r"\1[redacted]", text)
    # E-mail addresses are mostly in `user`, gone by now. The e-mail pattern retries at every
    # character of a run of word characters (ids, timestamps): only run it when it can match.
    # (Its matches hold no quote or brace, so the order of the three does not change the result.)
    if "@" in text:
        text = EMAIL.sub("[email]", text)
    return text[:limit]
