"""The function behind `mlci report`: plain values in, an exit code out.

Unlike the other steps, report's markdown is the full report, not a summary of
its own checks, so it does its own finishing instead of `runner.finish`: write
`report.md` and charts, fill the step summary, post, then write `report.json`
and outputs like every step. Its own verdict is about reporting (documents
read, comment posted); the reported verdict is the `overall-verdict` output.
A failing gate already failed its own job; failing the report job too would
only hide the report behind a red cross."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

from mlci import redact, summary
from mlci.ci import Platform, detect
from mlci.ci.base import PostOutcome, Token
from mlci.exitcodes import ExitCode
from mlci.options import Common
from mlci.report import charts, documents, escape, render, size
from mlci.result import Check, Result, Status, write_json
from mlci.runner import attempt, ready_out
from mlci.summary import ICONS

REPORT_FILE = "report.md"
MARKER = "<!-- mlci-report:{id} -->"


def marker_for(report_id: str) -> str:
    """`<!-- mlci-report:ID -->`, with the ID made safe inside an HTML comment."""
    clean = re.sub(r"[^A-Za-z0-9 ._/:@()+#-]", "-", report_id)
    while "--" in clean:
        clean = clean.replace("--", "-")
    clean = clean.strip(" -")[:100] or "mlci"
    return MARKER.format(id=clean)


def report_step(common: Common, *, post: bool, dry_run: bool, report_id: str | None) -> int:
    platform = detect()
    started = time.perf_counter()
    token = platform.token() if (post or dry_run) else None
    if token is not None and not dry_run:
        platform.mask(token.value)
    ready = attempt("mlci report", platform, common.debug,
                    lambda: ready_out(common.out, create=False))
    if isinstance(ready, int):
        return ready
    result = attempt("mlci report", platform, common.debug, lambda: _report(
        platform, common, post=post or dry_run, dry_run=dry_run, report_id=report_id,
        token=token))
    if isinstance(result, int):
        return result
    result.duration_s = time.perf_counter() - started
    redact.result(result)
    out = Path(common.out)
    path = write_json(result, out)
    platform.set_outputs("report", {
        "verdict": result.verdict, "overall-verdict": str(result.extra["overall"]),
        "report-path": str(out / REPORT_FILE), "result-path": str(path),
        "comment-url": str(result.extra.get("comment_url") or "")}, out)
    for check in result.checks:
        if check.status == "warn":
            platform.annotate("warning", f"mlci report: {check.name}: {check.message}")
    print(summary.text(result))
    return int(ExitCode.GATE_FAILED if result.verdict == "fail" else ExitCode.OK)


def _report(platform: Platform, common: Common, *, post: bool, dry_run: bool,
            report_id: str | None, token: Token | None) -> Result:
    out = Path(common.out)
    collection = documents.load(common.out)
    rendered = render.render(collection, run_url=platform.run_link())
    if not collection.documents:
        rendered = _no_results(rendered, common.out, collection.missing)
    full = render.assemble(rendered)
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / REPORT_FILE
    report_path.write_text(full, encoding="utf-8")
    pngs = [png for doc in collection.documents if doc.valid
            for png in charts.write_pngs(doc.path.removesuffix(".json"),
                                         list(doc.data.get("checks") or []), out)]
    platform.write_summary(size.fit(rendered, platform.summary_limit,
                                    full_at=f"`{report_path.as_posix()}`"))
    checks = [_documents_check(collection, common.out), Check(
        "report", "pass", f"wrote {report_path.as_posix()} ({size.measure(full):,} bytes)"
        + (f" and {len(pngs)} chart PNG(s)" if pngs else ""),
        extra={"path": report_path.as_posix(), "charts": [p.as_posix() for p in pngs]})]
    outcome = None
    if post:
        marker = marker_for(report_id or platform.default_report_id())
        body = size.fit(rendered, platform.comment_limit, prefix=marker + "\n",
                        full_at=platform.full_report_hint(report_path.as_posix()))
        outcome = platform.post_report(body, marker, token, dry_run=dry_run, echo=print)
        checks.append(_post_check(outcome, body))
    else:
        checks.append(Check("post", "skip", "not requested (pass --post to comment on the "
                            "pull or merge request)"))
    overall = rendered.verdict
    said = (f"reported {len(collection.documents)} result document(s): overall {overall}"
            if collection.documents else f"no result documents found in {common.out}")
    return Result(step="report", checks=checks,
                  summary=said + (f"; {outcome.message}" if outcome else ""),
                  subject={"inputs": {}},
                  extra={"overall": overall, "title": rendered.title,
                         "comment_url": outcome.url if outcome else None})


def _no_results(rendered: render.Rendered, out: str, why: str) -> render.Rendered:
    """The report when there is nothing to report: it says so and names the folder,
    so the PR/MR shows why instead of an old comment or nothing."""
    folder = escape.code(out)
    body = (f"No result documents were found in {folder}: {escape.text(why)}. Every earlier "
            "step failed before writing its result document, or their artifacts were not "
            f"downloaded into {folder}; see the logs of the earlier jobs.")
    return replace(rendered, verdict="skip",
                   title=f"### {ICONS['skip']} mlci: no results — nothing found in {folder}",
                   steps=(render.StepPart("results", "skip", body),))


def _documents_check(collection: documents.Collection, out: str) -> Check:
    if not collection.documents:
        return Check("documents", "warn", f"no result documents found in {out}: "
                     f"{collection.missing}; every earlier step failed before writing one, "
                     "or their artifacts were not downloaded into it", extra={"out": out})
    invalid = [d.path for d in collection.documents if not d.valid]
    steps = ", ".join(d.step for d in collection.documents if d.valid)
    if invalid:
        return Check("documents", "warn", f"{len(invalid)} of {len(collection.documents)} "
                     f"document(s) fail the result schema: {', '.join(invalid)}",
                     extra={"invalid": invalid})
    return Check("documents", "pass", f"read {len(collection.documents)} result document(s): "
                 f"{steps}")


def _post_check(outcome: PostOutcome, body: str) -> Check:
    status: Status = "skip"  # not in a PR/MR, or a dry run
    if outcome.action in ("created", "updated"):
        status = "pass"
    elif outcome.action == "refused":
        status = "warn"
    extra: dict[str, object] = {"action": outcome.action, "bytes": size.measure(body)}
    if outcome.url:
        extra["url"] = outcome.url
    if outcome.target:
        extra["target"] = outcome.target
    return Check("post", status, outcome.message, extra=extra)
