"""Snapshot IDs: what changes them and what must not, the cache, symlinks, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from mlci.errors import InputError
from mlci.lineage import hashing
from mlci.lineage.cache import CACHE_FILE, DigestCache
from mlci.lineage.hashing import Change, Snapshot, diff, listing_id, snapshot
from tests.lineage.conftest import age, write_files

HELLO = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"  # sha256("hello\n")


def make(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    return write_files(root, files or {"a.csv": "hello\n", "sub/b.csv": "1,2\n"})


def test_id_is_sha256_over_the_documented_listing(tmp_path: Path) -> None:
    write_files(tmp_path, {"a.txt": "hello\n"})
    listing = b'mlci-snapshot-v1\n{"path":"a.txt","sha256":"' + HELLO.encode() + b'","size":6}\n'
    snap = snapshot(tmp_path)
    assert snap.id == "sha256:" + hashlib.sha256(listing).hexdigest()
    assert snap.id == listing_id([{"path": "a.txt", "size": 6, "sha256": HELLO}])
    assert snap.entries == [{"path": "a.txt", "size": 6, "sha256": HELLO}]
    assert (snap.kind, snap.files, snap.bytes) == ("dir", 1, 6)


def test_pinned_id_so_a_format_change_is_noticed(tmp_path: Path) -> None:
    write_files(tmp_path, {"a.txt": "hello\n", "d/b.bin": b"\x00\x01"})
    assert snapshot(tmp_path).id == PINNED


# Checked with `printf` piped to `sha256sum`, outside Python.
PINNED = "sha256:97a9d9a177f980ce1190adde612030871a0c852144832c274b1d2504a6a39093"


def test_id_ignores_creation_order_and_mtimes(tmp_path: Path) -> None:
    first = make(tmp_path / "one", {"b.csv": "2", "a.csv": "1", "z/c.csv": "3"})
    second = make(tmp_path / "two", {"z/c.csv": "3", "a.csv": "1", "b.csv": "2"})
    os.utime(second / "a.csv", (1_000_000, 1_000_000))
    assert snapshot(first).id == snapshot(second).id


def test_id_ignores_the_folder_name_and_worker_count(tmp_path: Path) -> None:
    one = make(tmp_path / "one")
    other = make(tmp_path / "other")
    assert snapshot(one, workers=1).id == snapshot(other, workers=8).id


@pytest.mark.parametrize("edit", ["one byte", "rename", "add", "remove", "empty file"])
def test_id_changes_with_content_names_and_membership(tmp_path: Path, edit: str) -> None:
    root = make(tmp_path / "d")
    before = snapshot(root).id
    if edit == "one byte":
        (root / "a.csv").write_text("hellO\n")  # same size, one byte differs
    elif edit == "rename":
        (root / "a.csv").rename(root / "a2.csv")
    elif edit == "add":
        (root / "sub/c.csv").write_text("")
    elif edit == "remove":
        (root / "sub/b.csv").unlink()
    else:
        (root / "a.csv").write_text("")
    assert snapshot(root).id != before


def test_single_file_snapshot_names_the_file(tmp_path: Path) -> None:
    path = make(tmp_path) / "a.csv"
    snap = snapshot(path)
    assert snap.kind == "file"
    assert snap.entries == [{"path": "a.csv", "size": 6, "sha256": HELLO}]


def test_symlinks_are_recorded_as_links_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("outside the tree\n")
    root = make(tmp_path / "d")
    (root / "out-link").symlink_to(outside)
    (root / "dir-link").symlink_to(tmp_path, target_is_directory=True)
    snap = snapshot(root)
    links = [e for e in snap.entries if "link" in e]
    assert links == [{"path": "dir-link", "link": str(tmp_path)},
                     {"path": "out-link", "link": str(outside)}]
    assert snap.files == 2  # the target's contents were never read
    outside.write_text("changed outside\n")
    assert snapshot(root).id == snap.id
    (root / "out-link").unlink()
    (root / "out-link").symlink_to(tmp_path / "elsewhere")  # a dangling link is fine too
    assert snapshot(root).id != snap.id


def test_excluded_paths_are_left_out_and_recorded(tmp_path: Path) -> None:
    root = make(tmp_path / "d")
    plain = snapshot(root).id
    write_files(root, {".mlci/cache/x.json": "{}"})
    snap = snapshot(root, exclude=[".mlci"])
    assert snap.id == plain
    assert snap.excluded == [".mlci"]


def test_missing_path_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope: no such file or folder"):
        snapshot(tmp_path / "nope")


def test_special_files_are_bad_input_naming_the_path(tmp_path: Path) -> None:
    root = make(tmp_path / "d")
    os.mkfifo(root / "pipe")
    with pytest.raises(InputError, match=r"d/pipe: not a regular file, folder or symlink"):
        snapshot(root)


def test_unreadable_file_is_bad_input_naming_the_path(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = make(tmp_path / "d")

    def denied(path: str, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(hashing, "open", denied, raising=False)  # root ignores chmod 0
    with pytest.raises(InputError, match=r"d/a\.csv: cannot read file \(Permission denied\)"):
        snapshot(root)


def test_cache_hit_gives_the_same_id_without_reading(tmp_path: Path) -> None:
    root = make(tmp_path / "d")
    age(root)
    cold, _ = cached(root, tmp_path / "cache")
    warm, _ = cached(root, tmp_path / "cache")
    assert (cold.cache_hits, warm.cache_hits) == (0, 2)
    assert warm.id == cold.id and warm.entries == cold.entries


def test_cache_misses_when_content_changes_even_with_mtime_restored(tmp_path: Path) -> None:
    root = make(tmp_path / "d")
    age(root)
    cached(root, tmp_path / "cache")
    target = root / "a.csv"
    st = target.stat()
    time.sleep(0.01)
    target.write_text("HELLO\n")  # same size
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # `touch -d` back: ctime moves on
    again, _ = cached(root, tmp_path / "cache")
    assert again.cache_hits == 1
    assert {"path": "a.csv", "size": 6,
            "sha256": hashlib.sha256(b"HELLO\n").hexdigest()} in again.entries


def test_racily_fresh_files_are_not_cached(tmp_path: Path) -> None:
    root = make(tmp_path / "d")  # written just now: inside the racy window
    _, cache = cached(root, tmp_path / "cache")
    assert cache.skipped_racy == 2
    assert cached(root, tmp_path / "cache")[0].cache_hits == 0


@pytest.mark.parametrize("content", ["{not json", "[" * 100_000 + "]" * 100_000])
def test_a_corrupt_cache_only_costs_time(tmp_path: Path, content: str) -> None:
    """Garbage, or JSON nested too deeply for Python's parser (a restored CI cache is
    input too): the cache is ignored, never an internal error."""
    root = make(tmp_path / "d")
    age(root)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / CACHE_FILE).write_text(content)
    snap, _ = cached(root, tmp_path / "cache")
    assert (snap.id, snap.cache_hits) == (snapshot(root).id, 0)


def test_cache_keeps_other_roots_and_drops_vanished_files(tmp_path: Path) -> None:
    one, two = make(tmp_path / "one"), make(tmp_path / "two")
    age(one)
    age(two)
    cached(one, tmp_path / "cache")
    cached(two, tmp_path / "cache")
    (one / "sub/b.csv").unlink()
    assert cached(one, tmp_path / "cache")[0].cache_hits == 1
    stored = json.loads((tmp_path / "cache" / CACHE_FILE).read_text())["entries"]
    assert set(stored) == {str(one / "a.csv"), str(two / "a.csv"), str(two / "sub/b.csv")}


def test_diff_names_each_kind_of_change() -> None:
    old: list[dict[str, object]] = [
        {"path": "a", "size": 1, "sha256": "0" * 64},
        {"path": "b", "size": 1, "sha256": "1" * 64},
        {"path": "l", "link": "a"},
    ]
    new: list[dict[str, object]] = [
        {"path": "a", "size": 2, "sha256": "2" * 64},
        {"path": "c", "size": 1, "sha256": "1" * 64},
        {"path": "l", "link": "b"},
    ]
    assert [(c.kind, c.path) for c in diff(old, new)] == [
        ("changed", "a"), ("removed", "b"), ("added", "c"), ("changed", "l")]
    assert diff(old, old) == []
    assert diff(old, new)[3] == Change("changed", "l", "symlink to a → symlink to b")


def cached(root: Path, cache_dir: Path) -> tuple[Snapshot, DigestCache]:
    """One run of the cache as `tag` uses it: load, hash, save."""
    cache = DigestCache(cache_dir)
    snap = snapshot(root, cache=cache)
    cache.save([root])
    return snap, cache
