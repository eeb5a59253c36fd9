"""The alias history as stored in registry tags: entries, order, the rollback stack."""

from __future__ import annotations

import json

from mlci.registry import history
from mlci.registry.history import Entry, History


def entry(action: str, start: int | None, end: int, seq: int, reason: str | None = None
          ) -> Entry:
    return Entry(action=action, from_version=start, to_version=end,  # type: ignore[arg-type]
                 time="2026-01-01T00:00:00+00:00", actor="ci", run_url=None, gates=["validate"],
                 reason=reason, seq=seq, id=f"id{seq}")


def tags_of(alias: str, *entries: Entry) -> dict[str, str]:
    return {e.key(alias): e.to_json() for e in entries}


def test_public_form_is_exactly_the_design_fields() -> None:
    assert entry("promote", None, 3, 1, "why").public() == {
        "action": "promote", "from_version": None, "to_version": 3,
        "time": "2026-01-01T00:00:00+00:00", "actor": "ci", "run_url": None,
        "gates": ["validate"], "reason": "why"}


def test_tag_round_trip_keeps_order_and_internal_fields() -> None:
    first, second = entry("promote", None, 1, 1), entry("promote", 1, 2, 2)
    second.extra = {"forced": True}
    tags = {**tags_of("prod", second, first), "mlci.history.staging.00000001.x": "{}",
            "other": "tag"}
    read = history.read(tags, "prod")
    assert [(e.seq, e.to_version, e.extra) for e in read.entries] == [
        (1, 1, {}), (2, 2, {"forced": True})]
    assert read.entries[0].tag == "mlci.history.prod.00000001.id1"
    assert read.next_seq() == 3
    assert read.damaged == []


def test_unreadable_tags_are_reported_not_fatal() -> None:
    tags = {"mlci.history.prod.00000001.a": "{not json",
            "mlci.history.prod.00000002.b": json.dumps({"action": "delete", "to_version": 1}),
            **tags_of("prod", entry("promote", None, 4, 3))}
    read = history.read(tags, "prod")
    assert [e.to_version for e in read.entries] == [4]
    assert [d.split(" ")[0] for d in read.damaged] == ["mlci.history.prod.00000001.a",
                                                       "mlci.history.prod.00000002.b"]


def test_consistency_with_the_alias() -> None:
    empty = History("prod", [], [])
    assert empty.consistent_with(None) and not empty.consistent_with(1)
    one = History("prod", [entry("promote", None, 2, 1)], [])
    assert one.consistent_with(2) and not one.consistent_with(3) and not one.consistent_with(None)


def test_stack_pops_on_rollback_so_rollbacks_never_go_forward() -> None:
    entries = [entry("promote", None, 1, 1), entry("promote", 1, 2, 2),
               entry("promote", 2, 3, 3), entry("rollback", 3, 2, 4)]
    assert History("prod", entries, []).stack() == [1, 2]
    entries.append(entry("rollback", 2, 1, 5))
    assert History("prod", entries, []).stack() == [1]


def test_stack_includes_a_state_adopted_with_force() -> None:
    # v1 by mlci, then someone set v7 by hand, then a forced promote 7 → 8.
    entries = [entry("promote", None, 1, 1), entry("promote", 7, 8, 2)]
    assert History("prod", entries, []).stack() == [1, 7, 8]
    assert History("prod", entries, []).held() == {1, 7, 8}


def test_stack_of_a_pruned_history_starts_from_the_oldest_from_version() -> None:
    assert History("prod", [entry("promote", 5, 6, 90)], []).stack() == [5, 6]


def test_pruning_keeps_the_newest() -> None:
    entries = [entry("promote", i, i + 1, i) for i in range(1, 6)]
    assert history.keys_to_prune(History("prod", entries, []), limit=3) == [
        "mlci.history.prod.00000001.id1", "mlci.history.prod.00000002.id2"]
    assert history.keys_to_prune(History("prod", entries, []), limit=5) == []


def test_reasons_are_clipped_and_blank_is_none() -> None:
    assert history.clip_reason("  ") is None
    assert history.clip_reason(" deploy failed ") == "deploy failed"
    clipped = history.clip_reason("x" * 5000)
    assert clipped is not None and len(clipped) == history.REASON_MAX and clipped[-1] == "…"
