"""The one reader of lineage.json (`document.facts`) and the JSON reading it shares.

Promote's lineage gate, the report's lineage section and tag/verify's own
result documents all take commit, data IDs and model digest from
`document.facts`; these tests pin what it reads from a real record, from a
`--no-git` record, and from records an attacker edited into other shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlci.errors import InputError
from mlci.jsonfile import read_json
from mlci.lineage import document
from mlci.report import documents, escape, render
from mlci.result import write_json

Tag = Callable[..., Any]
Keys = Callable[[str], tuple[Path, Path]]
LINEAGE = ".mlci/lineage.json"


def _record(work: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((work / LINEAGE).read_text())
    return loaded


def test_facts_of_a_signed_record_are_what_tag_recorded(work: Path, run_tag: Tag,
                                                        keys: Keys) -> None:
    private, _ = keys("a")
    result = run_tag(key=str(private))
    doc = _record(work)
    facts = document.facts(doc)
    assert facts == document.Facts(
        commit=doc["git"]["commit"], merge_commit=None, dirty=False,
        data=(("data/train.csv", doc["data"][0]["id"]), ("data/eval", doc["data"][1]["id"])),
        data_id=doc["data_id"], model_path="model", model_digest=doc["model"]["digest"],
        signature_key_id=doc["model"]["signature"]["key_id"], run_id=None)
    # the tag result's lineage section is made from the same reading
    assert result.lineage == {
        "path": LINEAGE, "commit": facts.commit, "merge_commit": None, "dirty": False,
        "data": facts.ids, "data_id": facts.data_id, "model_digest": facts.model_digest,
        "signature_key_id": facts.signature_key_id}
    assert result.outputs == {"data-id": facts.data_id, "model-digest": facts.model_digest,
                              "lineage-path": LINEAGE}
    assert "outputs" not in result.to_dict()


def test_no_git_record_has_no_commit_and_no_dirty_flag(work: Path, run_tag: Tag) -> None:
    result = run_tag(no_git=True, model=None)
    facts = document.facts(_record(work))
    assert (facts.commit, facts.merge_commit, facts.dirty) == (None, None, None)
    assert (facts.model_path, facts.model_digest, facts.signature_key_id) == (None, None, None)
    assert result.lineage["commit"] is None and result.lineage["dirty"] is None
    assert result.summary.endswith(", no git")
    assert result.outputs["model-digest"] == ""


@pytest.mark.parametrize("edit", [
    # a commit where git facts say none was recorded is not a recorded commit
    lambda d: d.update(git={"recorded": False, "reason": "--no-git", "commit": "a" * 40}),
    lambda d: d.update(git="main"),
    lambda d: d.update(git={"recorded": "yes", "commit": "a" * 40, "dirty": "no"}),
])
def test_a_commit_counts_only_when_git_facts_were_recorded(work: Path, run_tag: Tag,
                                                           edit: Callable[[dict[str, Any]],
                                                                          None]) -> None:
    run_tag()
    doc = _record(work)
    edit(doc)
    facts = document.facts(doc)
    assert (facts.commit, facts.merge_commit, facts.dirty) == (None, None, None)


def test_fields_of_the_wrong_type_read_as_absent_never_as_values() -> None:
    hostile: dict[str, Any] = {
        "schema": document.LINEAGE_FORMAT, "data_id": 7,
        "git": {"recorded": True, "commit": ["a"], "merge_commit": 1, "dirty": "false"},
        "data": [{"path": "a.csv", "id": "sha256:1"}, {"path": 3, "id": "sha256:2"},
                 "b.csv", {"path": "c.csv"}, {"path": "a.csv", "id": "sha256:3"}],
        "model": {"path": "m", "digest": {"sha256": "x"}, "signature": "key"},
        "mlflow": ["run"],
    }
    assert document.facts(hostile) == document.Facts(
        commit=None, merge_commit=None, dirty=None,
        data=(("a.csv", "sha256:1"), ("a.csv", "sha256:3")), data_id=None, model_path="m",
        model_digest=None, signature_key_id=None, run_id=None)
    assert document.facts({"data": {"a": "b"}, "model": [], "git": None}) == document.Facts(
        None, None, None, (), None, None, None, None, None)


def test_the_report_shows_the_record_as_the_reader_reads_it(work: Path, run_tag: Tag,
                                                            keys: Keys) -> None:
    """A lineage.json among the artifacts: its commit, data IDs, model and key in the
    report's lineage section, exactly; the lineage-tag result names the same model."""
    private, _ = keys("a")
    write_json(run_tag(key=str(private), data=["data/train.csv"]), Path(".mlci"))
    facts = document.facts(_record(work))
    collection = documents.load(".mlci")
    assert len(collection.lineage) == 1
    rendered = render.render(collection)
    commit, (path, ident) = str(facts.commit), facts.data[0]
    digest, key = str(facts.model_digest), str(facts.signature_key_id)
    assert rendered.lineage == (
        "#### 🧬 Lineage\n\n"
        f"- commit `{commit[:12]}`\n"
        f"- data `{path}` `{escape.short_id(ident)}`\n"
        f"- model `{escape.short_id(digest)}` (lineage-tag, lineage.json)\n"
        f"- signed with key `{escape.short_id(key)}`")
    assert rendered.lineage_details == (
        "<details><summary>lineage: full IDs</summary>\n\n"
        f"- commit `{commit}`\n- data `{path}`: `{ident}`\n- model digest `{digest}`\n"
        f"- signing key `{key}`\n\n</details>")


def test_the_report_does_not_take_a_commit_an_edited_record_claims(work: Path,
                                                                   run_tag: Tag) -> None:
    """git says "not recorded" but a commit was added: the report shows no commit."""
    run_tag(no_git=True, model=None, data=["data/train.csv"])
    doc = _record(work)
    doc["git"]["commit"] = "f" * 40
    (work / LINEAGE).write_text(json.dumps(doc))
    rendered = render.render(documents.load(".mlci"))
    assert "commit" not in rendered.lineage
    assert rendered.lineage.startswith("#### 🧬 Lineage\n\n- data `data/train.csv` ")


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file; expected the lineage.json written by `mlci lineage tag`"),
    ("{", "not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 "
          "(char 1)); expected the lineage.json written by `mlci lineage tag`"),
    ("[" * 100_000 + "]" * 100_000,
     "not valid JSON (nested too deeply); expected the lineage.json written by "
     "`mlci lineage tag`"),
    ("[1]", "expected a JSON object (the lineage.json written by `mlci lineage tag`), got list"),
    (b"\xff\xfe{}", "cannot read ("),
])
def test_read_json_names_the_file_and_what_was_expected(tmp_path: Path, content: str | bytes
                                                        | None, message: str) -> None:
    path = tmp_path / "lineage.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as caught:
        read_json(path, document.EXPECTED)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert caught.value.file == str(path)


def test_a_schema_error_names_the_field_in_the_config_path_form(work: Path,
                                                                 run_tag: Tag) -> None:
    run_tag()
    doc = _record(work)
    doc["data"][1]["files"] = "two"
    (work / LINEAGE).write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"^\.mlci/lineage\.json: data\[1\]\.files: 'two' "
                       r"is not of type 'integer'; expected a document valid against "
                       r"schemas/lineage\.schema\.json$"):
        document.read(LINEAGE)
