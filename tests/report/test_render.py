"""Rendering: exact markdown for fixture documents, robustness, size limits, charts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mlci import __version__
from mlci.errors import InputError
from mlci.report import charts, documents, escape, render, size
from mlci.report.run import marker_for
from tests.report.conftest import FIXTURES, HERE, Run, big_document
from tests.report.fake_hosts import FakeHosts

RUN_URL = "https://github.example/o/r/actions/runs/42"
RunReport = Callable[..., Run]


def markdown(folder: Path, run_url: str | None = RUN_URL) -> str:
    return render.assemble(render.render(documents.load(str(folder)), run_url=run_url))


def test_exact_markdown_for_the_fixture_documents() -> None:
    """validate, compare (baseline, CI, p), drift, lineage-tag, an invalid promote.json,
    an unrelated notes.json. Regenerate expected/full.md only after reading the diff."""
    assert markdown(FIXTURES / "full") == (HERE / "expected" / "full.md").read_text()


def test_same_input_gives_byte_identical_output(tmp_path: Path) -> None:
    """Files written in another order, in other folders' mtimes: the same markdown."""
    names = sorted(p.name for p in (FIXTURES / "full").iterdir())
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in reversed(names):
        shutil.copy(FIXTURES / "full" / name, copy / name)
    assert markdown(copy) == markdown(FIXTURES / "full") == markdown(copy)


def test_minimal_document_exact(tmp_path: Path) -> None:
    (tmp_path / "canary.json").write_text(json.dumps({
        "schema": "mlci/result/v1", "step": "canary", "verdict": "pass", "summary": "",
        "checks": [], "subject": {}, "mlci_version": "9.9", "started_at": "2026-01-01T00:00:00Z",
        "duration_s": 0}))
    assert markdown(tmp_path, run_url=None) == (
        "### ✅ mlci: pass — canary passed\n\n"
        "#### ✅ canary: pass\n\n_No checks._\n\n"
        "<details><summary>canary: charts and details</summary>\n\n"
        "- document: `canary.json`, written by mlci 9.9, started 2026-01-01T00:00:00Z, took 0 s\n\n"
        "</details>\n\n"
        f"<sub>mlci {__version__} · 1 result document</sub>\n")


def _document(step: str, verdict: str, checks: list[dict[str, str]]) -> str:
    return json.dumps({
        "schema": "mlci/result/v1", "step": step, "verdict": verdict, "summary": "",
        "checks": [{"name": c["name"], "status": c["status"], "message": ""} for c in checks],
        "subject": {}, "mlci_version": "9.9", "started_at": "2026-01-01T00:00:00Z",
        "duration_s": 0})


def test_headline_has_one_entry_per_step_and_leaves_keygen_out(tmp_path: Path) -> None:
    """Two validate documents (predictions and model tests) are one entry with their
    count and the worst verdict; a key pair being made judges nothing."""
    (tmp_path / "model-tests").mkdir()
    (tmp_path / "validate.json").write_text(_document("validate", "pass", [
        {"name": "accuracy", "status": "pass"}]))
    (tmp_path / "model-tests" / "validate.json").write_text(_document("validate", "warn", [
        {"name": "latency", "status": "warn"}]))
    (tmp_path / "compare.json").write_text(_document("compare", "pass", [
        {"name": "accuracy", "status": "pass"}]))
    (tmp_path / "lineage-keygen.json").write_text(_document("lineage-keygen", "pass", []))
    first = markdown(tmp_path).splitlines()[0]
    assert first == "### ⚠️ mlci: warn — validate ×2 warned: latency · compare passed"


def test_invalid_documents_are_reported_not_crashed_on(tmp_path: Path) -> None:
    (tmp_path / "validate.json").write_text('{"schema": "mlci/result/v1", "step": "valid')
    (tmp_path / "compare.json").write_text(json.dumps({
        "schema": "mlci/result/v2", "step": "compare", "verdict": "fail", "checks": "none"}))
    (tmp_path / "list.json").write_text("[1, 2]")  # some other JSON artifact: ignored
    text = markdown(tmp_path)
    assert text.startswith("### ❌ mlci: fail — compare.json: invalid document · "
                           "validate.json: invalid document\n")
    assert "#### ❌ compare (compare.json): not a valid result document" in text
    assert "- schema: 'mlci/result/v1' was expected" in text
    assert "- checks: 'none' is not of type 'array'" in text
    assert "#### ⚠️ validate (validate.json): not a valid result document" in text
    assert "- not JSON: Unterminated string" in text


def test_a_deeply_nested_document_is_invalid_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "validate.json").write_text("[" * 100_000 + "]" * 100_000)
    text = markdown(tmp_path)
    assert text.startswith("### ⚠️ mlci: warn — validate.json: invalid document\n")
    assert "- not JSON that mlci reads: nested too deeply" in text


def test_documents_in_artifact_subfolders_are_found(tmp_path: Path) -> None:
    for sub in ("mlci-validate", "mlci-compare"):
        (tmp_path / sub).mkdir()
    shutil.copy(FIXTURES / "full" / "validate.json", tmp_path / "mlci-validate")
    shutil.copy(FIXTURES / "full" / "compare.json", tmp_path / "mlci-compare")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "digests.json").write_text("{not json")  # mlci's cache: skipped
    loaded = documents.load(str(tmp_path))
    assert [d.path for d in loaded.documents] == ["mlci-compare/compare.json",
                                                  "mlci-validate/validate.json"]


NO_RESULTS_TITLE = "### ⏭️ mlci: no results — nothing found in `.mlci`"


def test_no_folder_is_a_report_that_says_so(clean_env: Path, run_report: RunReport) -> None:
    """An `if: always()` report job after every step failed: exit 0 (no second red cross)
    and a report that says no results were found, naming the folder."""
    run = run_report()
    assert run.exit_code == 0, run.stderr
    assert (run.out / "report.md").read_text() == (
        f"{NO_RESULTS_TITLE}\n\n"
        "No result documents were found in `.mlci`: the folder does not exist. Every earlier "
        "step failed before writing its result document, or their artifacts were not "
        "downloaded into `.mlci`; see the logs of the earlier jobs.\n\n"
        f"<sub>mlci {__version__} · 0 result documents</sub>\n")
    doc = run.doc()
    assert (doc["verdict"], doc["summary"]) == ("warn", "no result documents found in .mlci")
    assert run.check("documents")["status"] == "warn"
    assert run.check("documents")["message"] == (
        "no result documents found in .mlci: the folder does not exist; every earlier step "
        "failed before writing one, or their artifacts were not downloaded into it")
    assert "WARN  documents: no result documents found in .mlci" in run.stdout


def test_a_folder_without_result_documents_is_reported_as_no_results(
        clean_env: Path, run_report: RunReport) -> None:
    out = clean_env / ".mlci"
    out.mkdir()
    (out / "report.json").write_text(json.dumps(
        {"schema": "mlci/result/v1", "step": "report"}))  # our own output is not an input
    (out / "notes.json").write_text('{"some": "other artifact"}')
    run = run_report()
    assert run.exit_code == 0, run.stderr
    report = (out / "report.md").read_text()
    assert report.startswith(f"{NO_RESULTS_TITLE}\n\nNo result documents were found in "
                             "`.mlci`: the folder holds none (such as validate.json). ")
    assert run.doc()["summary"] == "no result documents found in .mlci"


def test_an_out_path_that_is_a_file_is_bad_input(clean_env: Path,
                                                 run_report: RunReport) -> None:
    (clean_env / "results").write_text("not a folder")
    run = run_report("--out", "results")
    assert run.exit_code == 2
    assert "Invalid value for '--out' (env var: 'MLCI_OUT'): Directory 'results' is a file" \
        in run.stderr
    with pytest.raises(InputError, match=r"^--out results: not a folder; expected the folder "):
        documents.load("results")


def test_no_results_report_is_posted_to_the_pull_request(
        clean_env: Path, hosts: FakeHosts, github_env: Callable[..., dict[str, str]],
        run_report: RunReport) -> None:
    """The PR learns that nothing reached the report, rather than keeping an old comment."""
    run = run_report("--post", env=github_env())
    assert run.exit_code == 0, run.stderr
    (posted,) = hosts.of("POST")
    body = json.loads(posted.body)["body"]
    assert body.splitlines()[:2] == ["<!-- mlci-report:CI -->", NO_RESULTS_TITLE]
    assert run.check("post")["status"] == "pass"


def test_text_from_documents_cannot_inject_markup(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "full" / "validate.json").read_text())
    doc["summary"] = "# big <img src=x onerror=alert(1)> ![t](https://evil.example/p.png)"
    doc["checks"][0]["name"] = "acc|uracy</details>"
    doc["checks"][0]["message"] = "[click](https://evil.example) `code` <!-- mlci-report:x -->"
    (tmp_path / "validate.json").write_text(json.dumps(doc))
    text = markdown(tmp_path)
    for markup in ("<img", "![t](", "[click](", "<!-- mlci-report", "</details> |"):
        assert markup not in text
    assert "\n\\# big &lt;img src=x onerror=alert(1)> !\\[t\\](https://evil.example/p.png)\n" \
        in text
    assert ("| ✅ | acc\\|uracy&lt;/details> | 0.9766 | 0.93 | \\[click\\](https://evil.example) "
            "\\`code\\` &lt;!-- mlci-report:x --> |") in text


def test_200_checks_fit_github_s_limit_with_the_cut_line() -> None:
    rendered = render.render(documents.Collection((documents.Document(
        "compare.json", big_document()),)), run_url=RUN_URL)
    full = render.assemble(rendered)
    assert size.measure(full) > 65_536
    marker = marker_for("CI")
    body = size.fit(rendered, 65_536, prefix=marker + "\n", full_at="`.mlci/report.md`")
    assert size.measure(body) <= 65_536
    lines = body.splitlines()
    assert lines[0] == marker
    assert lines[1] == ("### ❌ mlci: fail — compare failed: recall\\[segment=000\\], "
                        "recall\\[segment=020\\], recall\\[segment=040\\] and 7 more")
    assert lines[3] == ("> ✂️ Shortened to fit the 65,536-byte limit: left out the details "
                        "of 1 step, the full lineage IDs, 190 passing or skipped checks. The full "
                        "report is in "
                        "`.mlci/report.md`.")
    failing = [c["name"] for c in big_document()["checks"] if c["status"] == "fail"]
    assert all(f"| ❌ | {escape.text(name)} |" in body for name in failing)
    assert "| | _190 more checks not shown_ |" in body
    # under GitLab's limit nothing is cut
    assert size.fit(rendered, 1_000_000, full_at="x") == full


def test_thousands_of_failures_still_fit() -> None:
    doc = big_document(checks=3000, failing=3000)
    rendered = render.render(documents.Collection((documents.Document("c.json", doc),)))
    body = size.fit(rendered, 65_536, full_at="`report.md`")
    assert size.measure(body) <= 65_536
    assert "more checks not shown" in body and "✂️" in body
    assert body.endswith("</sub>\n")  # cut by whole rows, footer kept


def test_mermaid_charts_of_metrics_and_drift() -> None:
    checks = json.loads((FIXTURES / "full" / "compare.json").read_text())["checks"]
    (chart, single) = charts.metric_charts("compare", checks)
    assert chart.splitlines() == [
        "```mermaid", "xychart-beta",
        '    title "compare: candidate (bars) vs baseline (line)"',
        '    x-axis ["accuracy", "f1", "roc_auc"]', "    y-axis 0.8375 --> 0.9785",
        "    bar [0.912, 0.861, 0.951]", "    line [0.905, 0.902, 0.955]", "```"]
    assert '"compare: rmse: candidate vs baseline"' in single
    drift = json.loads((FIXTURES / "full" / "drift.json").read_text())["checks"]
    assert [c.splitlines()[2] for c in charts.drift_charts("drift", drift)] == [
        '    title "drift: drift score per column (jensenshannon)"',
        '    title "drift: drift score per column (ks), threshold as line"']
    assert charts.metric_charts("x", [{"name": 'a"b', "metric": "m", "value": 1e-9,
                                       "baseline": 0.5}])[0].count('"') == 6


def test_png_charts_when_matplotlib_is_installed(results: Path, run_report: RunReport) -> None:
    pytest.importorskip("matplotlib")
    run = run_report()
    assert run.exit_code == 0, run.stderr
    assert sorted(p.name for p in run.out.glob("*.png")) == ["report-compare-metrics.png",
                                                             "report-drift-drift.png"]
    assert (run.out / "report-compare-metrics.png").read_bytes()[:4] == b"\x89PNG"


def test_no_png_and_no_error_without_matplotlib(results: Path, run_report: RunReport,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    run = run_report()
    assert run.exit_code == 0, run.stderr
    assert list(run.out.glob("*.png")) == []
    assert (run.out / "report.md").read_text().count("```mermaid") == 4


def test_local_run_writes_report_md_and_its_own_result(results: Path,
                                                       run_report: RunReport) -> None:
    run = run_report()
    assert run.exit_code == 0, run.stderr  # the reported fail is not the report's fail
    assert run.stdout.startswith("mlci report: PASS — reported 4 result document(s): "
                                 "overall fail\n")
    doc = run.doc()
    assert doc["verdict"] == "pass" and doc["overall"] == "fail"
    assert documents.schema_errors(doc) == []
    assert (run.out / "report.md").read_text().startswith("### ❌ mlci: fail")
    dotenv = (run.out / "report.env").read_text()
    assert "MLCI_REPORT_OVERALL_VERDICT=fail" in dotenv
    # reporting again does not report the report
    assert run_report().doc()["summary"].startswith("reported 4 result document(s)")


def test_invalid_document_makes_the_report_warn(clean_env: Path, run_report: RunReport
                                                ) -> None:
    out = clean_env / ".mlci"
    out.mkdir()
    shutil.copy(FIXTURES / "full" / "promote.json", out)
    shutil.copy(FIXTURES / "full" / "validate.json", out)
    run = run_report()
    assert run.exit_code == 0
    assert run.check("documents")["status"] == "warn"
    assert run.doc()["overall"] == "warn"


def test_marker_ids_are_safe_inside_an_html_comment() -> None:
    assert marker_for("CI") == "<!-- mlci-report:CI -->"
    assert marker_for("a --> <b>") == "<!-- mlci-report:a - -b -->"
    assert marker_for("") == "<!-- mlci-report:mlci -->"


def test_importing_the_command_stays_light() -> None:
    script = ("import sys\nimport mlci.commands.report\nprint(sorted(m for m in ('requests', "
              "'pandas', 'numpy', 'matplotlib', 'jsonschema', 'mlflow') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_help_has_a_worked_example(run_report: RunReport) -> None:
    run = run_report("--help")
    assert run.exit_code == 0
    examples = run.stdout.split("Examples:")[1]
    assert "mlci report --post --dry-run" in examples
    assert "CI_JOB_TOKEN cannot post" in " ".join(examples.split())
