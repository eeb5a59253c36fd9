"""`mlci report`: the step's run function.

Report's page is the full report, not a summary of its own checks: it writes
`<out>/report.md` and the step summary (cut to the platform's limit) itself,
before posting, so a failed post still leaves the report in the job
(`Result.wrote_page`). Its own verdict is about
reporting (documents read, comment posted); the reported verdict is the
`overall-verdict` output. A failing gate already failed its own job; failing the
report job too would only hide the report behind a red cross."""

from __future__ import annotations

import re
from dataclasses import replace

from mlci.ci.base import PostOutcome
from mlci.report import charts, documents, escape, render, size
from mlci.report.options import Options
from mlci.result import Check, Result, Status
from mlci.runner import Context
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


def run(context: Context, options: Options) -> Result:
    platform, out = context.platform, context.out
    post = options.post or options.dry_run
    token = platform.token() if post else None
    if token is not None and not options.dry_run:
        platform.mask(token.value)
    collection = documents.load(str(out))
    rendered = render.render(collection, run_url=platform.run_link())
    if not collection.documents:
        rendered = _no_results(rendered, str(out), collection.missing)
    full = render.assemble(rendered)
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / REPORT_FILE
    report_path.write_text(full, encoding="utf-8")
    pngs = [png for doc in collection.documents if doc.valid
            for png in charts.write_pngs(doc.path.removesuffix(".json"),
                                         list(doc.data.get("checks") or []), out)]
    platform.write_summary(size.fit(rendered, platform.summary_limit,
                                    full_at=f"`{report_path.as_posix()}`"))
    checks = [_documents_check(collection, str(out)), Check(
        "report", "pass", f"wrote {report_path.as_posix()} ({size.measure(full):,} bytes)"
        + (f" and {len(pngs)} chart PNG(s)" if pngs else ""),
        extra={"path": report_path.as_posix(), "charts": [p.as_posix() for p in pngs]})]
    outcome = None
    if post:
        marker = marker_for(options.report_id or platform.default_report_id())
        body = size.fit(rendered, platform.comment_limit, prefix=marker + "\n",
                        full_at=platform.full_report_hint(report_path.as_posix()))
        outcome = platform.post_report(body, marker, token, dry_run=options.dry_run,
                                       echo=print)
        checks.append(_post_check(outcome, body))
    else:
        checks.append(Check("post", "skip", "not requested (pass --post to comment on the "
                            "pull or merge request)"))
    overall = rendered.verdict
    said = (f"reported {len(collection.documents)} result document(s): overall {overall}"
            if collection.documents else f"no result documents found in {out}")
    return Result(step="report", checks=checks,
                  summary=said + (f"; {outcome.message}" if outcome else ""),
                  subject={"inputs": {}},
                  extra={"overall": overall, "title": rendered.title,
                         "comment_url": outcome.url if outcome else None},
                  outputs={"overall-verdict": overall, "report-path": str(report_path),
                           "comment-url": (outcome.url if outcome else None) or ""},
                  wrote_page=True)


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
