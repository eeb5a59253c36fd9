"""One markdown report from every result document: the PR/MR comment, the step
summary and `<out>/report.md` are this text.

Layout, most important first: one verdict line a reviewer can stop after;
then per step a table whose failing checks come first; charts and document
facts in collapsed `<details>`; lineage; a link to the run. The same input
gives byte-identical output (no clock, no dict-order or set-order effects), so
tests compare exact text and an unchanged report does not churn the comment.

Text from documents is escaped: on a fork PR the result documents are
untrusted artifact content, and must not inject HTML, images or links.

Rendering produces `Rendered` parts rather than one string so that `size` can
drop details and passing rows and reassemble without rendering twice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlci import __version__
from mlci.lineage import document as lineage_document
from mlci.report import charts
from mlci.report.documents import Collection, Document
from mlci.report.escape import code, short, short_id, text
from mlci.summary import ICONS, ORDER, number

PIPELINE = ("validate", "compare", "compare-drift", "drift", "lineage-tag", "lineage-verify",
            "promote", "rollback", "canary")
NAMES_IN_VERDICT = 3


# Steps whose documents record an action, not a judgement: left out of the headline.
UNJUDGED_STEPS = frozenset({"lineage-keygen"})


# --- parts -------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    status: str
    line: str


@dataclass(frozen=True)
class StepPart:
    """One document's section. `head` (heading, summary) is never cut; `rows` may
    lose passing rows and `details` may go entirely when the report is too long."""

    label: str
    status: str
    head: str
    table_head: str = ""
    rows: tuple[Row, ...] = ()
    columns: int = 0
    details: str = ""


@dataclass(frozen=True)
class Rendered:
    verdict: str
    title: str  # the verdict line
    steps: tuple[StepPart, ...]
    lineage: str = ""  # always kept: short
    lineage_details: str = ""
    footer: str = ""


@dataclass(frozen=True)
class Cut:
    """What to leave out: detail sections by step index (-1 = lineage), passing rows
    by step index, and a cap on the remaining rows by step index."""

    no_details: frozenset[int] = frozenset()
    no_passing: frozenset[int] = frozenset()
    max_rows: Mapping[int, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.no_details or self.no_passing or self.max_rows)


# --- building ----------------------------------------------------------------

def verdict_of(document: Document) -> str:
    claimed = document.data.get("verdict")
    if document.valid:
        return str(claimed)
    return "fail" if claimed == "fail" else "warn"  # unknown results are never a pass


def _order(document: Document) -> tuple[int, int, str, str]:
    step = document.step
    rank = PIPELINE.index(step) if step in PIPELINE else len(PIPELINE)
    return ORDER.get(verdict_of(document), 1), rank, step, document.path


def render(collection: Collection, *, run_url: str | None = None) -> Rendered:
    documents = sorted(collection.documents, key=_order)
    steps_seen: dict[str, int] = {}
    for document in documents:
        steps_seen[document.step] = steps_seen.get(document.step, 0) + 1
    parts = []
    for document in documents:
        label = document.step
        if steps_seen[document.step] > 1 or not document.valid:
            label = f"{document.step} ({document.path})"
        parts.append(_step(document, label) if document.valid else _invalid(document, label))
    overall = _worst(verdict_of(d) for d in documents)
    lineage, lineage_details = _lineage(documents, collection.lineage)
    link = f"[CI run]({run_url}) · " if run_url and _safe_url(run_url) else ""
    footer = f"<sub>{link}mlci {__version__} · {_count(len(documents), 'result document')}</sub>"
    return Rendered(overall, _title(overall, documents), tuple(parts), lineage,
                    lineage_details, footer)


def _safe_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) and not any(c in url for c in " ()<>\n")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _worst(statuses: Iterable[str]) -> str:
    found = set(statuses)
    for status in ("fail", "warn", "pass"):
        if status in found:
            return status
    return "skip"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _checks(document: Document) -> list[Mapping[str, Any]]:
    checks = document.data.get("checks")
    return [c for c in checks if isinstance(c, Mapping)] if isinstance(checks, list) else []


def _title(overall: str, documents: Sequence[Document]) -> str:
    """One phrase per step (a step that wrote several documents is counted, e.g.
    `validate ×2 passed`), in the report's order; steps that judge nothing are left
    out, and an invalid document is named by its path."""
    entries: list[Document | str] = []
    groups: dict[str, list[Document]] = {}
    for document in documents:
        if not document.valid:
            entries.append(document)
        elif document.step not in UNJUDGED_STEPS:
            if document.step not in groups:
                entries.append(document.step)
            groups.setdefault(document.step, []).append(document)
    phrases = [_step_phrase(e, groups[e]) if isinstance(e, str)
               else f"{text(e.path)}: invalid document" for e in entries]
    return f"### {ICONS[overall]} mlci: {overall} — " + " · ".join(phrases)


def _step_phrase(step: str, group: Sequence[Document]) -> str:
    verdict = _worst(verdict_of(d) for d in group)
    name = text(step) + (f" ×{len(group)}" if len(group) > 1 else "")
    names = [text(c.get("name", "")) for d in group for c in _checks(d)
             if c.get("status") == verdict]
    listed = ", ".join(names[:NAMES_IN_VERDICT]) + (
        f" and {len(names) - NAMES_IN_VERDICT} more" if len(names) > NAMES_IN_VERDICT
        else "")
    word = {"fail": "failed", "warn": "warned", "pass": "passed"}.get(verdict, "skipped")
    return f"{name} {word}: {listed}" if listed and verdict in ("fail", "warn") else \
        f"{name} {word}"


def _invalid(document: Document, label: str) -> StepPart:
    status = verdict_of(document)
    lines = [f"#### {ICONS[status]} {text(label)}: not a valid result document", "",
             "It fails `schemas/result.schema.json`, so its results are not shown and it "
             "counts as at least a warning:", ""]
    lines += [f"- {text(error)}" for error in document.errors]
    return StepPart(label, status, "\n".join(lines))


def _confidence(check: Mapping[str, Any]) -> float | None:
    for key in ("confidence", "ci_level"):
        value = check.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1:
            return float(value)
    return None


def _percent(level: float) -> str:
    return f"{level * 100:.4g}%"


def _step(document: Document, label: str) -> StepPart:
    data = document.data
    verdict = str(data.get("verdict"))
    checks = sorted(_checks(document), key=lambda c: ORDER.get(str(c.get("status")), 1))
    head = [f"#### {ICONS.get(verdict, '')} {text(label)}: {verdict}"]
    if data.get("summary"):
        head += ["", text(data["summary"])]

    def has(key: str) -> bool:
        return any(number(c.get(key)) for c in checks)

    with_baseline = has("baseline") or has("delta")
    with_ci = any(isinstance(c.get("ci"), list) for c in checks)
    levels = {_confidence(c) for c in checks if isinstance(c.get("ci"), list)}
    one_level = next(iter(levels)) if len(levels) == 1 else None
    columns: list[tuple[str, Any]] = [("", None), ("check", None)]
    if has("value") or with_baseline:
        columns.append(("candidate" if with_baseline else "value", "value"))
    if with_baseline:
        columns.append(("baseline", "baseline"))
        ci_name = f"{_percent(one_level)} CI" if one_level else "CI"
        columns.append((f"delta ({ci_name})" if with_ci else "delta", "delta"))
    if has("p_value"):
        columns.append(("p", "p_value"))
    if has("threshold"):
        columns.append(("threshold", "threshold"))
    columns.append(("note", None))

    rows = []
    for check in checks:
        status = str(check.get("status"))
        cells = [ICONS.get(status, ""), text(check.get("name", ""))]
        for _, key in columns[2:-1]:
            if key == "delta":
                cells.append(_delta(check, show_level=one_level is None))
            elif key == "p_value":
                cells.append(_p_value(check.get("p_value")))
            else:
                cells.append(number(check.get(key)))
        cells.append(text(short(" ".join(str(check.get("message", "")).split()))))
        rows.append(Row(status, "| " + " | ".join(cells) + " |"))
    table_head = ("|" + "|".join(f" {name} " if name else " " for name, _ in columns)
                  + "|\n|" + "---|" * len(columns)) if checks else ""
    if not checks:
        head += ["", "_No checks._"]
    return StepPart(label, verdict, "\n".join(head), table_head, tuple(rows), len(columns),
                    _details(document, label, checks))


def _delta(check: Mapping[str, Any], show_level: bool) -> str:
    cell = number(check.get("delta"), signed=True)
    interval = check.get("ci")
    if isinstance(interval, list) and len(interval) == 2:
        low, high = number(interval[0], signed=True), number(interval[1], signed=True)
        if low or high:
            cell += f" [{low or '?'}, {high or '?'}]"
            level = _confidence(check)
            if show_level and level is not None:
                cell += f" at {_percent(level)}"
    return cell.strip()


def _p_value(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 0.001:
        return "<0.001"
    return number(value)


def _details(document: Document, label: str, checks: Sequence[Mapping[str, Any]]) -> str:
    data = document.data
    body: list[str] = []
    drawn = charts.metric_charts(document.step, checks) + charts.drift_charts(document.step,
                                                                              checks)
    for chart in drawn:
        body += [chart, ""]
    subject = _mapping(data.get("subject"))
    facts = []
    if subject.get("model"):
        facts.append(f"- model: {code(subject['model'])}")
    if subject.get("model_digest"):
        facts.append(f"- model digest: {code(subject['model_digest'])}")
    inputs = subject.get("inputs")
    if isinstance(inputs, Mapping) and inputs:
        facts.append("- inputs: " + ", ".join(f"{code(k)} {code(v)}"
                                              for k, v in sorted(inputs.items())))
    sources = sorted({f"{s.get('file')}:{s.get('line')}" for c in checks
                      for s in [c.get("source")] if isinstance(s, Mapping)})
    if sources:
        facts.append(f"- configured at: {', '.join(code(s) for s in sources)}")
    when = [f"written by mlci {text(data.get('mlci_version', '?'))}"]
    if data.get("started_at"):
        when.append(f"started {text(data['started_at'])}")
    if number(data.get("duration_s")):
        when.append(f"took {number(data.get('duration_s'))} s")
    facts.append(f"- document: {code(document.path)}, " + ", ".join(when))
    body += facts
    return (f"<details><summary>{text(label)}: charts and details</summary>\n\n"
            + "\n".join(body) + "\n\n</details>")


# --- lineage -----------------------------------------------------------------

Seen = tuple[dict[str, None], dict[str, dict[str, None]], dict[str, list[str]], dict[str, None]]


def _seen(documents: Sequence[Document], lineage_docs: Sequence[Mapping[str, Any]]) -> Seen:
    """Each commit, data ID, model digest (with who judged it) and key named, once.
    Lineage records are read by their one reader (`mlci.lineage.document.facts`),
    which ignores fields of the wrong type: artifacts are untrusted input."""
    commits: dict[str, None] = {}
    data: dict[str, dict[str, None]] = {}
    models: dict[str, list[str]] = {}
    keys: dict[str, None] = {}

    def add(commit: Any, pairs: Iterable[tuple[Any, Any]], model: Any, by: str,
            key: Any) -> None:
        commits.update({commit: None} if isinstance(commit, str) else {})
        for path, ident in pairs:
            if isinstance(path, str) and isinstance(ident, str):
                data.setdefault(path, {})[ident] = None
        if isinstance(model, str):
            models.setdefault(model, []).append(by)
        keys.update({key: None} if isinstance(key, str) else {})

    for doc in map(lineage_document.facts, lineage_docs):
        add(doc.commit, doc.data, doc.model_digest, "lineage.json", doc.signature_key_id)
    for document in (d for d in documents if d.valid):
        record = _mapping(document.data.get("lineage"))
        add(record.get("commit"), _mapping(record.get("data")).items(),
            _mapping(document.data.get("subject")).get("model_digest")
            or record.get("model_digest"), document.step, record.get("signature_key_id"))
    return commits, data, models, keys


def _lineage(documents: Sequence[Document], lineage_docs: Sequence[Mapping[str, Any]]
             ) -> tuple[str, str]:
    commits, data, models, keys = _seen(documents, lineage_docs)
    if not (commits or data or models):
        return "", ""
    lines = ["#### 🧬 Lineage", ""]
    if commits:
        lines.append("- commit " + ", ".join(code(c[:12]) for c in sorted(commits)))
    if data:
        lines.append("- data " + ", ".join(f"{code(path)} {code(short_id(ident))}"
                                           for path, ids in sorted(data.items())
                                           for ident in sorted(ids)))
    for digest, steps in sorted(models.items()):
        users = ", ".join(text(s) for s in sorted(set(steps)))
        lines.append(f"- model {code(short_id(digest))} ({users})")
    if len(models) > 1:
        lines.append("- ⚠️ the steps judged different models: a pass earned by one model "
                     "says nothing about another")
    for key in sorted(keys):
        lines.append(f"- signed with key {code(short_id(key))}")
    full = [f"- commit {code(c)}" for c in sorted(commits)]
    full += [f"- data {code(path)}: {code(ident)}" for path, ids in sorted(data.items())
             for ident in sorted(ids)]
    full += [f"- model digest {code(d)}" for d in sorted(models)]
    full += [f"- signing key {code(k)}" for k in sorted(keys)]
    details = ("<details><summary>lineage: full IDs</summary>\n\n" + "\n".join(full)
               + "\n\n</details>")
    return "\n".join(lines), details


# --- assembling --------------------------------------------------------------

def assemble(rendered: Rendered, cut: Cut | None = None, note: str = "") -> str:
    """The markdown for `rendered` minus what `cut` leaves out, with `note` (what was
    cut, where the full report is) right under the verdict line."""
    cut = cut or Cut()
    blocks = [rendered.title]
    if note:
        blocks.append(note)
    for index, part in enumerate(rendered.steps):
        blocks.append(part.head)
        if part.rows:
            blocks.append(_table(part, index, cut))
        if part.details and index not in cut.no_details:
            blocks.append(part.details)
    if rendered.lineage:
        blocks.append(rendered.lineage)
        if rendered.lineage_details and -1 not in cut.no_details:
            blocks.append(rendered.lineage_details)
    blocks.append(rendered.footer)
    return "\n\n".join(blocks) + "\n"


def _table(part: StepPart, index: int, cut: Cut) -> str:
    rows = list(part.rows)
    if index in cut.no_passing:
        rows = [r for r in rows if r.status not in ("pass", "skip")]
    cap = cut.max_rows.get(index)
    if cap is not None:
        rows = rows[:cap]
    hidden = len(part.rows) - len(rows)
    lines = [part.table_head, *(r.line for r in rows)]
    if hidden:
        filler = " |" * (part.columns - 2)
        lines.append(f"| | _{hidden} more check{'s' if hidden != 1 else ''} not shown_"
                     f"{filler}")
    return "\n".join(lines)
