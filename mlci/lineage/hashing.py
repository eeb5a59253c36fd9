"""Snapshot IDs: one `sha256:` over a canonical listing of a file or folder.

The listing, not a tarball or a merkle tree, is what gets hashed because it is
what lineage.json stores: anyone can recompute an ID from the recorded entries
(`listing_id`), and `verify` can name each file that differs instead of only
saying "the hash changed". Entries are sorted by the UTF-8 bytes of their
relative POSIX path, so file order, mtimes, the machine and the operating
system do not enter the ID; contents, sizes and names do.

Files are streamed (constant memory) and hashed on a thread pool: hashlib and
file reads release the GIL, so threads use every core without the pickling
cost of processes.

Symlinks are recorded as links with their target text and never silently
followed. A link whose target lies inside the snapshot's own root is covered
by the target's own entry. With `link_roots` (data), a link to a regular
file elsewhere inside those roots (the project) also records the target's
size and SHA-256, so changing the bytes behind it changes the ID; any other
link (out of the project, a folder outside the root) is listed in
`Snapshot.loose_links` for the caller to refuse. A link's bytes are never
read from outside the project."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlci.errors import InputError
from mlci.lineage.cache import DigestCache, StatKey

FORMAT_HEADER = b"mlci-snapshot-v1\n"
_CHUNK = 1 << 20  # big enough to amortise syscalls, small enough to stay in cache

# {"path", "size", "sha256"} for files, {"path", "link"} for symlinks, and
# {"path", "link", "size", "sha256"} for a link whose target's bytes are recorded
Entry = dict[str, Any]
ChangeKind = Literal["changed", "added", "removed"]


@dataclass
class Snapshot:
    """What one data path or model folder looked like when it was hashed."""

    kind: Literal["file", "dir"]
    id: str
    entries: list[Entry]
    files: int
    bytes: int
    cache_hits: int = 0
    excluded: list[str] = field(default_factory=list)
    # (relative path, link text, resolved target) of links whose target's bytes are not
    # covered by this snapshot: outside `link_roots`, or a folder outside the root
    loose_links: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    path: str  # relative to the snapshot root
    detail: str


@dataclass(frozen=True)
class _Pending:
    rel: str
    abs: str
    key: StatKey


def default_workers() -> int:
    """Twice the cores: hashing is CPU-bound when data is in the page cache, but
    a cold disk or a network filesystem needs requests in flight to keep busy."""
    return max(2, min(32, 2 * (os.cpu_count() or 1)))


def canonical(entry: Mapping[str, Any]) -> bytes:
    """One line of the listing; ASCII-escaped so undecodable names hash the same everywhere."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _sort_key(entry: Mapping[str, Any]) -> bytes:
    return str(entry["path"]).encode("utf-8", "surrogateescape")


def listing_id(entries: Iterable[Mapping[str, Any]]) -> str:
    """The ID of a listing: recomputable from lineage.json alone, by anyone."""
    digest = hashlib.sha256(FORMAT_HEADER)
    for entry in sorted(entries, key=_sort_key):
        digest.update(canonical(entry) + b"\n")
    return "sha256:" + digest.hexdigest()


def file_sha256(path: str) -> tuple[str, int]:
    """Hex SHA-256 and the byte count actually read (the file may change under us)."""
    digest = hashlib.sha256()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    total = 0
    try:
        with open(path, "rb", buffering=0) as handle:
            while True:
                count = handle.readinto(buffer)
                if not count:
                    break
                digest.update(view[:count])
                total += count
    except OSError as exc:
        raise InputError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    return digest.hexdigest(), total


def _stat_key(st: os.stat_result) -> StatKey:
    return StatKey(st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def _walk(root: str, exclude: set[str]) -> tuple[list[_Pending], list[Entry]]:
    """Files to hash, and link entries."""
    files: list[_Pending] = []
    links: list[Entry] = []
    stack: list[tuple[str, str]] = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as listing:
                items = list(listing)
        except OSError as exc:
            raise InputError(f"{folder}: cannot list folder ({exc.strerror or exc})") from exc
        for item in items:
            rel = prefix + item.name
            if rel in exclude:
                continue
            try:
                if item.is_symlink():
                    links.append({"path": rel, "link": os.readlink(item.path)})
                elif item.is_dir(follow_symlinks=False):
                    stack.append((item.path, rel + "/"))
                elif item.is_file(follow_symlinks=False):
                    key = _stat_key(item.stat(follow_symlinks=False))
                    files.append(_Pending(rel, item.path, key))
                else:
                    raise InputError(f"{item.path}: not a regular file, folder or symlink; "
                                     "move sockets, pipes and devices out of the data path")
            except OSError as exc:
                raise InputError(f"{item.path}: cannot read ({exc.strerror or exc})") from exc
    return files, links


def _within(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def _resolve_links(root: str, links: list[Entry], exclude: Iterable[str],
                   link_roots: Sequence[str]) -> list[tuple[str, str, str]]:
    """Give links into the project their target's bytes; return the ones left uncovered.

    A link into its own root (not into an excluded part) is covered by the target's
    entry. A link to a regular file elsewhere in `link_roots` gets the target's size
    and SHA-256. A dangling link into `link_roots` stays a bare link: if its target
    appears later, the entry changes. Anything else is loose."""
    real_root = os.path.realpath(root)
    skipped = [os.path.join(real_root, rel) for rel in exclude]
    roots = [os.path.realpath(r) for r in link_roots]
    loose: list[tuple[str, str, str]] = []
    for entry in links:
        target = os.path.realpath(os.path.join(root, str(entry["path"])))
        if _within(target, real_root) and not any(_within(target, s) for s in skipped):
            continue
        if not any(_within(target, r) for r in roots):
            loose.append((str(entry["path"]), str(entry["link"]), target))
        elif os.path.isfile(target):
            entry["sha256"], entry["size"] = file_sha256(target)
        elif os.path.lexists(target):
            loose.append((str(entry["path"]), str(entry["link"]), target))
    return loose


def _hash_pending(pending: _Pending, cache: DigestCache | None, started_ns: int) -> Entry:
    hex_digest, size = file_sha256(pending.abs)
    if cache is not None and size == pending.key.size:
        try:
            after = _stat_key(os.stat(pending.abs, follow_symlinks=False))
        except OSError:
            after = None
        if after == pending.key:  # unchanged while we read it: safe to remember
            cache.put(pending.abs, pending.key, hex_digest, started_ns)
    return {"path": pending.rel, "size": size, "sha256": hex_digest}


def snapshot(path: str | os.PathLike[str], *, cache: DigestCache | None = None,
             exclude: Iterable[str] = (), workers: int | None = None,
             link_roots: Sequence[str] | None = None) -> Snapshot:
    """Hash a file or a folder into a Snapshot.

    `exclude` names paths relative to a folder root (mlci's own out folder, a
    signature file) that are not part of the data; they are recorded in the
    snapshot, whether present yet or not, so `verify` skips the same ones and
    nothing else. `link_roots` (the project) says where a link's target bytes
    may be read from; without it every link is recorded by its text alone."""
    root = os.fspath(path)
    try:
        st = os.stat(root)  # the root may be a link: the user named it
    except FileNotFoundError as exc:
        raise InputError(f"{root}: no such file or folder") from exc
    except OSError as exc:
        raise InputError(f"{root}: cannot read ({exc.strerror or exc})") from exc
    started_ns = time.time_ns()
    if stat.S_ISDIR(st.st_mode):
        kind: Literal["file", "dir"] = "dir"
        excluded = sorted(set(exclude))
        pending, entries = _walk(root, set(excluded))
        loose = (_resolve_links(root, entries, excluded, link_roots)
                 if link_roots is not None else [])
    elif stat.S_ISREG(st.st_mode):
        kind = "file"
        pending = [_Pending(Path(root).name, root, _stat_key(st))]
        entries, excluded, loose = [], [], []
    else:
        raise InputError(f"{root}: not a regular file or folder")

    hits = 0
    to_hash: list[_Pending] = []
    for item in pending:
        cached = cache.get(os.path.abspath(item.abs), item.key) if cache is not None else None
        if cached is None:
            to_hash.append(item)
        else:
            hits += 1
            entries.append({"path": item.rel, "size": item.key.size, "sha256": cached})
    # Largest first, so one big file does not start last and leave the other threads idle.
    to_hash.sort(key=lambda item: item.key.size, reverse=True)
    if len(to_hash) <= 1:
        entries.extend(_hash_pending(item, cache, started_ns) for item in to_hash)
    else:
        with ThreadPoolExecutor(max_workers=min(len(to_hash), workers or default_workers()),
                                thread_name_prefix="mlci-hash") as pool:
            entries.extend(pool.map(lambda item: _hash_pending(item, cache, started_ns), to_hash))
    entries.sort(key=_sort_key)
    file_entries = [entry for entry in entries if "sha256" in entry]
    return Snapshot(kind=kind, id=listing_id(entries), entries=entries,
                    files=len(file_entries), bytes=sum(int(e["size"]) for e in file_entries),
                    cache_hits=hits, excluded=excluded, loose_links=loose)


def diff(recorded: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]]
         ) -> list[Change]:
    """Every changed, added and removed entry, sorted by path, each with a reason."""
    before = {str(entry["path"]): entry for entry in recorded}
    after = {str(entry["path"]): entry for entry in current}
    changes: list[Change] = []
    for rel in sorted(before.keys() | after.keys(),
                      key=lambda p: p.encode("utf-8", "surrogateescape")):
        old, new = before.get(rel), after.get(rel)
        if old is None:
            changes.append(Change("added", rel, f"new {_describe(new)}"))
        elif new is None:
            changes.append(Change("removed", rel, f"was {_describe(old)}"))
        elif canonical(old) != canonical(new):
            changes.append(Change("changed", rel, f"{_describe(old)} → {_describe(new)}"))
    return changes


def _describe(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "nothing"
    if "link" in entry:
        if "sha256" in entry:
            return (f"symlink to {entry['link']} ({entry['size']} bytes, sha256 "
                    f"{str(entry['sha256'])[:12]}…)")
        return f"symlink to {entry['link']}"
    return f"{entry['size']} bytes, sha256 {str(entry['sha256'])[:12]}…"
