"""Keyed pseudonyms (HMAC-SHA256) for case and worker ids.

The key comes from CASELOAD_PSEUDONYM_KEY, or from a key file created once
with mode 0600 outside the repository (CASELOAD_PSEUDONYM_KEY_FILE, default
~/.config/caseload_pipeline/pseudonym.key). The same key must be used for
every month, or a worker's months no longer join up; losing the key file
means the next load gives everybody new keys, so back it up.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

BLOCK = 64  # SHA-256 block size in bytes, as HMAC defines it


def default_key_file(env: Mapping[str, str]) -> Path:
    """Where the key file lives unless CASELOAD_PSEUDONYM_KEY_FILE says otherwise:
    the user's configuration folder, outside any repository."""
    configured = env.get("CASELOAD_PSEUDONYM_KEY_FILE")
    if configured:
        return Path(configured).expanduser()
    base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "caseload_pipeline" / "pseudonym.key"


def pseudonym_key(configured: str | None, path: Path) -> bytes:
    """The configured key, else the key file's (created on first use)."""
    if configured:
        return configured.encode()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def pseudonym(key: bytes, value: str) -> str:
    """The Python reference implementation (the SQL macro must agree with it)."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def sql_macro(key: bytes) -> str:
    """A DuckDB macro computing the same HMAC, so 1M ids are hashed vectorised.

    HMAC(k, m) = H((k ^ opad) || H((k ^ ipad) || m)), keys longer than a block
    hashed first. The macro is TEMP: the key never reaches the database file.
    """
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    ipad = bytes(b ^ 0x36 for b in key).hex()
    opad = bytes(b ^ 0x5C for b in key).hex()
    return (
        "CREATE OR REPLACE TEMP MACRO pseudonym(value) AS "
        f"sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode(value))))"
    )
