"""The per-file digest cache in `<out>/cache/`, so unchanged data re-hashes in well under a second.

A digest is reused only when (absolute path, size, mtime_ns, inode, ctime_ns)
all match what they were when the file was hashed. ctime is in the key beside
the four the issue names because no user call can set it back (`touch -d` and
`cp -p` restore mtime, not ctime), so an edit cannot hide behind an old mtime.

Like git's index, the cache refuses "racily clean" files: a file whose mtime
lies within `RACY_WINDOW_NS` of the moment hashing began is not stored,
because a second write within the same timestamp tick (2 s on FAT, a jiffy on
ext4) would leave size and mtime unchanged. Such a file is simply hashed
again next time.

`verify` never uses this cache: it exists to catch changes, so it reads every
byte. The cache is an optimisation for `tag`; a missing or corrupt cache file
only makes a run slower."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

CACHE_FORMAT = "mlci-digest-cache-v1"
CACHE_FILE = "digests-v1.json"
RACY_WINDOW_NS = 2_000_000_000


class StatKey(NamedTuple):
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int


class DigestCache:
    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / CACHE_FILE
        self._old: dict[str, list[int | str]] = {}
        self._new: dict[str, list[int | str]] = {}
        self._lock = threading.Lock()
        self.skipped_racy = 0
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict) and loaded.get("format") == CACHE_FORMAT:
                entries = loaded.get("entries")
                if isinstance(entries, dict):
                    self._old = entries
        except (OSError, ValueError, RecursionError):
            pass  # no cache yet, or a corrupt (or deeply nested) one: start empty

    def get(self, path: str, key: StatKey) -> str | None:
        absolute = os.path.abspath(path)
        row = self._old.get(absolute)
        if not isinstance(row, list) or len(row) != 5 or tuple(row[:4]) != tuple(key):
            return None
        digest = row[4]
        if not isinstance(digest, str):
            return None
        with self._lock:
            self._new[absolute] = row
        return digest

    def put(self, path: str, key: StatKey, hex_digest: str, hashed_at_ns: int) -> None:
        if key.mtime_ns >= hashed_at_ns - RACY_WINDOW_NS:
            with self._lock:
                self.skipped_racy += 1
            return
        with self._lock:
            self._new[os.path.abspath(path)] = [*key, hex_digest]

    def save(self, scanned_roots: Iterable[str | os.PathLike[str]]) -> None:
        """Keep other roots' entries, replace this run's roots: the file stays bounded
        by what exists, and two data sets can share one out folder."""
        roots = [os.path.abspath(root) for root in scanned_roots]

        def scanned(path: str) -> bool:
            return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep)
                       for root in roots)

        entries = {path: row for path, row in self._old.items() if not scanned(path)}
        entries.update(self._new)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".digests-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"format": CACHE_FORMAT, "entries": entries}, handle,
                          separators=(",", ":"))
            os.replace(tmp, self.path)  # atomic: a concurrent reader sees old or new
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
