"""`lineage keygen`: a new ECDSA P-256 key pair for signing models and lineage records.

It never overwrites a key: losing a signing key is unrecoverable, and a
silently replaced one makes every earlier signature unverifiable with the
public key people have committed. The private key is created mode 0600
whatever the umask says, since it is a secret until stored in CI."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mlci.errors import InputError
from mlci.lineage import signing
from mlci.result import Check, Result


def keygen(directory: str) -> Result:
    """Write `mlci-signing.pem` and `mlci-signing.pub.pem` into `directory`."""
    started = time.monotonic()
    folder = Path(directory)
    private_path = folder / signing.PRIVATE_KEY_NAME
    public_path = folder / signing.PUBLIC_KEY_NAME
    for path in (private_path, public_path):
        if os.path.lexists(path):
            raise InputError(f"{path}: already exists; mlci never overwrites a key: move it "
                             "away or choose another --dir")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--dir {directory}: cannot create folder ({exc})") from exc
    private_pem, public_pem, kid = signing.generate()
    _write_private(private_path, private_pem)
    try:
        public_path.write_bytes(public_pem)
    except OSError as exc:
        raise InputError(f"{public_path}: cannot write the public key ({exc})") from exc
    return Result(step="lineage-keygen", checks=[Check(
        "keygen", "pass",
        f"wrote {private_path} (private, mode 0600: store it as a CI secret) and {public_path} "
        f"(public: commit it, verify with it); key id {kid}",
        extra={"key_id": kid, "private_key": str(private_path),
               "public_key": str(public_path)})],
        summary=f"new ECDSA P-256 signing key {kid}",
        subject={}, duration_s=time.monotonic() - started,
        outputs={"key-id": kid, "private-key": str(private_path),
                 "public-key": str(public_path)})


def _write_private(path: Path, pem: bytes) -> None:
    """Created 0600 and exclusively: a file that appeared since the check is not replaced."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the private key ({exc})") from exc
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # whatever the umask says
        handle.write(pem)
