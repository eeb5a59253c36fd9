"""`tag` and `verify` end to end on a throwaway repository: what is written, what is caught."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlci import schemas
from mlci.errors import InputError
from mlci.lineage.hashing import snapshot
from mlci.lineage.tagging import tag
from mlci.lineage.verifying import verify as verify_lineage
from mlci.result import Result
from tests.lineage.conftest import LOCAL_FACTS, age, git

Keys = Callable[[str], tuple[Path, Path]]
Tag = Callable[..., Result]


def lineage(work: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((work / ".mlci/lineage.json").read_text())
    return loaded


def verify(public_key: Path | str | None = None) -> Result:
    return verify_lineage(".mlci/lineage.json", out_dir=".mlci",
                          public_key=None if public_key is None else str(public_key))


def failed(result: Result) -> list[str]:
    return [check.name for check in result.checks if check.status == "fail"]


def test_tag_writes_lineage_that_validates_and_matches_the_data(work: Path, run_tag: Tag) -> None:
    result = run_tag(params={"lr": "0.1"})
    doc = lineage(work)
    assert list(schemas.validator(schemas.LINEAGE).iter_errors(doc)) == []
    assert [(r["path"], r["kind"], r["files"], r["id"]) for r in doc["data"]] == [
        ("data/train.csv", "file", 1, snapshot("data/train.csv").id),
        ("data/eval", "dir", 2, snapshot("data/eval").id)]
    assert doc["model"]["digest"] == snapshot("model").id
    assert doc["git"]["commit"] == git(work, "rev-parse", "HEAD")
    assert doc["params"] == {"lr": "0.1"}
    assert (result.step, result.verdict) == ("lineage-tag", "pass")
    assert result.lineage["data"] == {"data/train.csv": doc["data"][0]["id"],
                                      "data/eval": doc["data"][1]["id"]}
    assert result.lineage["data_id"] == doc["data_id"]
    assert result.outputs["lineage-path"] == ".mlci/lineage.json"


def test_result_documents_validate_against_the_result_schema(work: Path, run_tag: Tag) -> None:
    validator = schemas.validator(schemas.RESULT)
    for result in (run_tag(), verify()):
        assert list(validator.iter_errors(result.to_dict())) == []


def test_single_data_path_id_is_the_data_id(work: Path, run_tag: Tag) -> None:
    run_tag(data=["data/eval"], model=None)
    doc = lineage(work)
    assert doc["data_id"] == doc["data"][0]["id"] == snapshot("data/eval").id
    assert doc["model"] is None


def test_second_tag_hashes_from_the_cache(work: Path, run_tag: Tag) -> None:
    age(work / "data")
    run_tag()
    again = run_tag()
    data_checks = [c.message for c in again.checks if c.name.startswith("data: ")]
    assert data_checks[0].endswith("1 from cache") and data_checks[1].endswith("2 from cache")


def test_dirty_tree_is_a_warning_naming_the_file(work: Path, run_tag: Tag) -> None:
    git(work, "add", "data/train.csv")
    git(work, "commit", "-q", "-m", "track data")
    (work / "data/train.csv").write_text("x,y\n9,9\n")
    result = run_tag()
    check = next(c for c in result.checks if c.name == "git")
    assert check.status == "warn" and "1 tracked file(s) differ from it: data/train.csv" in (
        check.message)
    assert result.verdict == "warn" and lineage(work)["git"]["dirty"] is True


def test_no_git_is_recorded_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("x\n")
    result = tag(["d.csv"], model=None, run_id=None, key=None, params={},
                       config_path=None, out_dir="out", facts=LOCAL_FACTS, no_git=True,
                       tracking_uri=None)
    doc = json.loads((tmp_path / "out/lineage.json").read_text())
    assert doc["git"] == {"recorded": False, "reason": "--no-git"}
    assert next(c.status for c in result.checks if c.name == "git") == "warn"


def test_not_a_checkout_without_no_git_is_bad_input(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("x\n")
    with pytest.raises(InputError, match=r"not a git checkout .*pass --no-git"):
        tag(["d.csv"], model=None, run_id=None, key=None, params={}, config_path=None,
                  out_dir="out", facts=LOCAL_FACTS, no_git=False, tracking_uri=None)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"data": ["data/missing.csv"]}, r"--data data/missing\.csv: no such file or folder"),
    ({"data": []}, r"--data: give at least one file or folder"),
    ({"model": "nomodel"}, r"--model nomodel: no such folder"),
    ({"model": None, "key": "k.pem"}, r"--key: signing needs --model"),
    ({"key": "missing.pem"}, r"signing key missing\.pem: no such file"),
    ({"config_path": "mlci.yml"}, r"--config mlci\.yml: no such file"),
    ({"data": ["data/eval", "data/eval/"]}, r"--data data/eval/: given twice"),
])
def test_bad_input_names_the_flag_and_path(work: Path, run_tag: Tag,
                                           overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        run_tag(**overrides)
    assert not (work / ".mlci/lineage.json").exists()


def test_environment_config_and_lockfiles_are_hashed(work: Path, run_tag: Tag) -> None:
    (work / "mlci.yml").write_text("version: 1\n")
    (work / "requirements.txt").write_text("scikit-learn==1.5.0\n")
    run_tag(config_path="mlci.yml")
    doc = lineage(work)
    assert doc["config"] == {"path": "mlci.yml",
                             "sha256": snapshot("mlci.yml").entries[0]["sha256"]}
    assert doc["environment"]["lockfiles"] == [
        {"path": "requirements.txt", "sha256": snapshot("requirements.txt").entries[0]["sha256"]}]
    assert doc["environment"]["packages"]["pytest"] == pytest.__version__


def test_pull_request_facts_reach_lineage(work: Path, run_tag: Tag) -> None:
    merge = git(work, "rev-parse", "HEAD")
    facts = {**LOCAL_FACTS, "platform": "github", "event": "pull_request", "sha": merge,
             "head_sha": "b" * 40, "run_url": "https://ci.example/run/1"}
    result = run_tag(facts=facts)
    doc = lineage(work)
    assert (doc["git"]["commit"], doc["git"]["merge_commit"]) == ("b" * 40, merge)
    assert doc["ci"]["run_url"] == "https://ci.example/run/1"
    assert result.lineage["commit"] == "b" * 40


def test_out_folder_inside_a_data_folder_is_excluded_on_both_sides(
        work: Path, run_tag: Tag) -> None:
    run_tag(data=["."], model=None, out_dir="out")
    doc = json.loads((work / "out/lineage.json").read_text())
    assert doc["data"][0]["excluded"] == ["out"]
    assert not any(e["path"].startswith("out/") for e in doc["data"][0]["entries"])
    result = verify_lineage("out/lineage.json", public_key=None, out_dir="out")
    assert failed(result) == []


# verify ---------------------------------------------------------------------------------


def test_verify_passes_when_nothing_changed(work: Path, run_tag: Tag, keys: Keys) -> None:
    private, public = keys("a")
    run_tag(key=str(private))
    result = verify(public)
    assert (result.step, result.verdict) == ("lineage-verify", "pass")
    assert [c.name for c in result.checks] == [
        "record signature", "data: data/train.csv", "data: data/eval", "model: model",
        "signature"]


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda w: (w / "data/eval/part-0.csv").write_text("x,y\n3,2\n"),
     ["data changed: data/eval/part-0.csv"]),
    (lambda w: (w / "data/eval/part-2.csv").write_text("new\n"),
     ["data added: data/eval/part-2.csv"]),
    (lambda w: (w / "data/eval/part-1.csv").unlink(), ["data removed: data/eval/part-1.csv"]),
    (lambda w: (w / "data/eval/part-1.csv").rename(w / "data/eval/part-9.csv"),
     ["data removed: data/eval/part-1.csv", "data added: data/eval/part-9.csv"]),
    (lambda w: (w / "data/train.csv").write_text("x,y\n"), ["data changed: data/train.csv"]),
    (lambda w: (w / "data/train.csv").unlink(), ["data removed: data/train.csv"]),
    (lambda w: shutil.rmtree(w / "data/eval"), ["data removed: data/eval"]),
    (lambda w: (w / "model/model.pkl").write_bytes(b"tampered"),
     ["model changed: model/model.pkl"]),
    (lambda w: (w / "model/extra.py").write_text("import os\n"), ["model added: model/extra.py"]),
])
def test_verify_fails_naming_each_changed_file(work: Path, run_tag: Tag,
                                              edit: Callable[[Path], object],
                                              expected: list[str]) -> None:
    run_tag()
    edit(work)
    result = verify()
    assert result.verdict == "fail"
    assert failed(result) == expected
    named = next(c for c in result.checks if c.name == expected[0])
    assert named.extra["path"] in named.message


def test_verify_caps_the_list_of_changes(work: Path, run_tag: Tag) -> None:
    run_tag(data=["data/eval"], model=None)
    for n in range(105):
        (work / f"data/eval/new-{n:03}.csv").write_text("x")
    names = failed(verify())
    assert len(names) == 101 and names[-1] == "data more changes: data/eval"


def test_signature_by_another_key_fails(work: Path, run_tag: Tag, keys: Keys) -> None:
    private_a, _ = keys("a")
    _, public_b = keys("b")
    run_tag(key=str(private_a))
    result = verify(public_b)
    check = next(c for c in result.checks if c.name == "signature")
    assert check.status == "fail" and "does not verify with the given public key" in (
        check.message)
    assert failed(result) == ["record signature", "signature"]


def test_unsigned_model_fails_when_a_public_key_is_given(work: Path, run_tag: Tag,
                                                         keys: Keys) -> None:
    _, public = keys("a")
    run_tag()
    result = verify(public)
    assert failed(result) == ["record signature", "signature"]
    assert result.checks[-1].message == "model/mlci.sig: missing: the model is not signed"
    assert result.checks[0].message == (
        ".mlci/lineage.json: the lineage record is not signed, so any field of it could have "
        "been edited; tag with --key to sign it")


def test_public_key_without_a_recorded_model_fails(work: Path, run_tag: Tag,
                                                   keys: Keys) -> None:
    _, public = keys("a")
    run_tag(model=None)
    assert failed(verify(public)) == ["record signature", "signature"]


def test_signed_model_without_a_public_key_is_only_a_warning(work: Path, run_tag: Tag,
                                                             keys: Keys) -> None:
    private, _ = keys("a")
    run_tag(key=str(private))
    result = verify()
    assert result.verdict == "warn"
    assert "pass --public-key" in result.checks[-1].message


def test_resigning_with_another_key_after_tag_fails(work: Path, run_tag: Tag,
                                                    keys: Keys) -> None:
    private_a, public_a = keys("a")
    private_b, _ = keys("b")
    run_tag(key=str(private_a))
    lineage_a = (work / ".mlci/lineage.json").read_text()
    run_tag(key=str(private_b))  # an attacker re-signs the same bytes with their key
    (work / ".mlci/lineage.json").write_text(lineage_a)
    assert failed(verify(public_a)) == ["signature"]


def test_signature_file_is_not_an_added_model_file(work: Path, run_tag: Tag,
                                                   keys: Keys) -> None:
    private, public = keys("a")
    run_tag(key=str(private))
    assert (work / "model/mlci.sig").is_file()
    assert lineage(work)["model"]["excluded"] == ["mlci.sig"]
    assert all("mlci.sig" not in e["path"] for e in lineage(work)["model"]["entries"])
    assert failed(verify(public)) == []


def test_tag_without_key_keeps_a_matching_signature_and_flags_a_stale_one(
        work: Path, run_tag: Tag, keys: Keys) -> None:
    private, _ = keys("a")
    run_tag(key=str(private))
    kept = run_tag()
    assert next(c for c in kept.checks if c.name == "signature").status == "pass"
    assert lineage(work)["model"]["signature"] is not None
    (work / "model/model.pkl").write_bytes(b"retrained")
    stale = run_tag()
    assert next(c for c in stale.checks if c.name == "signature").status == "warn"
    assert lineage(work)["model"]["signature"] is None


def test_edited_entries_in_lineage_json_are_caught(work: Path, run_tag: Tag) -> None:
    run_tag()
    doc = lineage(work)
    doc["data"][1]["entries"].pop()  # hide a file from the record, keep the old ID
    (work / ".mlci/lineage.json").write_text(json.dumps(doc))
    assert failed(verify()) == ["data record: data/eval", "data added: data/eval/part-1.csv"]


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.pop("data"), r"\(top level\): 'data' is a required property"),
    (lambda d: d["data"][0].update(id="md5:1"), r"data\[0\]\.id: 'md5:1' does not match"),
    (lambda d: d.update(schema="other"), r"schema: 'mlci/lineage/v1' was expected"),
])
def test_lineage_json_failing_its_schema_is_bad_input(work: Path, run_tag: Tag,
                                                      mutate: Callable[[dict[str, Any]], object],
                                                      message: str) -> None:
    run_tag()
    doc = lineage(work)
    mutate(doc)
    (work / ".mlci/lineage.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=rf"^\.mlci/lineage\.json: {message}"):
        verify()


def test_missing_or_broken_lineage_json_is_bad_input(work: Path) -> None:
    with pytest.raises(InputError, match=r"\.mlci/lineage\.json: no such file"):
        verify()
    os.makedirs(".mlci")
    Path(".mlci/lineage.json").write_text("{")
    with pytest.raises(InputError, match=r"\.mlci/lineage\.json: not valid JSON"):
        verify()


def test_bad_public_key_is_bad_input(work: Path, run_tag: Tag) -> None:
    run_tag()
    Path("pub.pem").write_text("not a key")
    with pytest.raises(InputError, match=r"public key pub\.pem: not a PEM public key"):
        verify("pub.pem")


def test_verify_in_a_fresh_checkout_elsewhere(work: Path, run_tag: Tag, tmp_path_factory:
                                              pytest.TempPathFactory,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The CI hand-over: lineage.json travels as an artifact to another job's checkout."""
    run_tag()
    other = tmp_path_factory.mktemp("job2")
    shutil.copytree(work, other, dirs_exist_ok=True, symlinks=True)
    monkeypatch.chdir(other)
    assert verify().verdict == "pass"


def test_a_signed_model_inside_a_data_folder_verifies(work: Path, run_tag: Tag,
                                                      keys: Keys) -> None:
    private, public = keys("a")
    run_tag(data=["."], key=str(private))  # the data listing must see the new mlci.sig
    run_tag(data=["."], key=str(private))  # and again: a fresh signature each time
    assert failed(verify(public)) == []


def test_a_data_link_left_dangling_is_a_removal(work: Path, run_tag: Tag) -> None:
    (work / "current").symlink_to("data/eval", target_is_directory=True)
    run_tag(data=["current"], model=None)
    (work / "data/eval").rename(work / "data/old")
    assert failed(verify()) == ["data removed: current"]


def test_a_model_verifies_from_its_signature_alone(work: Path, run_tag: Tag, keys: Keys) -> None:
    """What promote does with a downloaded model: no lineage.json at hand."""
    from mlci.lineage import signing
    from mlci.lineage.verifying import signed_model_checks

    private, public = keys("a")
    _, other = keys("b")
    run_tag(key=str(private))
    key = signing.load_public_key(str(public))
    assert [(c.name, c.status) for c in signed_model_checks("model", key)] == [
        ("model: model", "pass"), ("signature", "pass")]
    # another key: the signed file list cannot be trusted, so nothing is compared
    assert [c.status for c in signed_model_checks(
        "model", signing.load_public_key(str(other)))] == ["fail"]
    (work / "model/model.pkl").write_bytes(b"swapped")
    assert [(c.name, c.status) for c in signed_model_checks("model", key)] == [
        ("model changed: model/model.pkl", "fail"), ("signature", "fail")]
    (work / "model/mlci.sig").unlink()
    assert [c.message for c in signed_model_checks("model", key)] == [
        "model/mlci.sig: missing: the model is not signed"]
