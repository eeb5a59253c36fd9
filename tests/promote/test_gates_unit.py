"""Gate parsing and "was this pass earned by this model?", without a registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlci.errors import InputError
from mlci.promote.candidate import Candidate, digest_of, parse_runs_uri
from mlci.promote.gates import parse_require
from mlci.registry.client import VersionInfo


def test_require_accepts_commas_spaces_and_repeats() -> None:
    assert parse_require(["validate,compare", "lineage  signature", "validate"]) == [
        "validate", "compare", "lineage", "signature"]
    assert parse_require("canary") == ["canary"]
    assert parse_require(None) == [] and parse_require([""]) == []


@pytest.mark.parametrize("bad", ["../etc/passwd", "promote", "rollback", "a$b"])
def test_require_refuses_what_is_not_a_step(bad: str) -> None:
    with pytest.raises(InputError, match="--require"):
        parse_require([bad])


class NoRegistry:
    def alias_version(self, name: str, alias: str) -> int | None:
        return {"staging": 4}.get(alias)


def candidate(**fields: Any) -> Candidate:
    version = VersionInfo(name="fraud", version=4, source="runs:/r1/model", run_id="r1",
                          status="READY")
    defaults: dict[str, Any] = {"registry": NoRegistry(), "name": "fraud", "uri": None,
                                "version": version, "run_id": "r1"}
    defaults.update(fields)
    return Candidate(**defaults)


@pytest.mark.parametrize(("ref", "same"), [
    ("runs:/r1/model", True),
    ("runs:/r1", True),
    ("runs:/r2/model", False),
    ("runs:/r1/other-model", False),
    ("models:/fraud/4", True),
    ("models:/fraud/3", False),
    ("models:/other/4", False),
    ("models:/fraud@staging", True),
    ("models:/fraud@production", False),
    ("s3://bucket/model", False),
])
def test_subject_model_must_name_the_promoted_model(ref: str, same: bool) -> None:
    assert candidate().refers_to(ref)[0] is same


@pytest.mark.parametrize("which", ["same-files", "other-files", "the-promoted-folder",
                                   "gone"])
def test_a_folder_named_without_a_digest_ties_to_nothing(tmp_path: Path, which: str) -> None:
    """A result that names a folder but records no digest says nothing about which bytes
    it judged (the folder may have been retrained in place since): even the folder being
    promoted, or one with the same files now, does not count."""
    ours = tmp_path / "model"
    ours.mkdir()
    (ours / "MLmodel").write_text("flavors: {}\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "MLmodel").write_text("flavors: {changed: true}\n" if which == "other-files"
                                   else "flavors: {}\n")
    cand = candidate(uri=str(ours), version=None, run_id=None, files_digest="sha256:" + "0" * 64)
    cand._files = ours
    ref = {"same-files": str(other), "other-files": str(other),
           "the-promoted-folder": str(ours), "gone": str(tmp_path / "gone")}[which]
    same, why = cand.refers_to(ref)
    assert same is False
    expected = (f"judged the folder {ref}, but records no model_digest, so which files it "
                f"judged is unknown (a folder is identified by its content, not its path): "
                f"rerun the step with --model {ref}")
    if which == "gone":
        expected = (f"judged {ref}, which cannot be tied to {cand.label} (not its URI, run, "
                    "version or files)")
    assert why == expected
    assert digest_of(ours) == digest_of(other) or which == "other-files"


def test_runs_uri_parsing() -> None:
    assert parse_runs_uri("runs:/abc/model/sub") == ("abc", "model/sub")
    assert parse_runs_uri("runs:/abc") == ("abc", "")
    assert parse_runs_uri("models:/x/1") is None
