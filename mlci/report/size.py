"""Keeping a report within what the host accepts.

GitHub rejects comment bodies over 65,536 characters with HTTP 422, GitLab
notes over 1,000,000 (CML's #1348); a report that fails to post is worse than
a shorter one. We measure in UTF-8 bytes, which is never less than either
host's count, and cut in order of least value to a reviewer: detail sections
first (last step first), then passing and skipped rows, then, only if still
needed, the tail of the remaining rows. A line under the verdict says what was
cut and where the full report is."""

from __future__ import annotations

from mlci.report.render import Cut, Rendered, assemble


def measure(markdown: str) -> int:
    return len(markdown.encode("utf-8"))


def fit(rendered: Rendered, limit: int, *, full_at: str, prefix: str = "") -> str:
    """`prefix + markdown` within `limit` bytes; `full_at` says where the uncut report is."""
    cut = Cut()
    text = prefix + assemble(rendered)
    if measure(text) <= limit:
        return text

    def attempt(candidate: Cut) -> str:
        return prefix + assemble(rendered, candidate, _note(rendered, candidate, limit, full_at))

    def fits(candidate: Cut) -> bool:
        return measure(attempt(candidate)) <= limit

    order = list(range(len(rendered.steps)))[::-1]
    for index in [-1, *order]:  # details: lineage, then the last step's, …
        cut = Cut(cut.no_details | {index}, cut.no_passing, cut.max_rows)
        if fits(cut):
            return attempt(cut)
    for index in order:  # passing and skipped rows, last step first
        cut = Cut(cut.no_details, cut.no_passing | {index}, cut.max_rows)
        if fits(cut):
            return attempt(cut)
    for index in order:  # the tail of failing and warning rows
        low, high = 0, len(rendered.steps[index].rows)
        if not fits(Cut(cut.no_details, cut.no_passing, {**cut.max_rows, index: low})):
            cut = Cut(cut.no_details, cut.no_passing, {**cut.max_rows, index: 0})
            continue
        while low < high:  # the most rows that still fit
            middle = (low + high + 1) // 2
            if fits(Cut(cut.no_details, cut.no_passing, {**cut.max_rows, index: middle})):
                low = middle
            else:
                high = middle - 1
        return attempt(Cut(cut.no_details, cut.no_passing, {**cut.max_rows, index: low}))
    return _truncate(attempt(cut), limit, full_at)


def _note(rendered: Rendered, cut: Cut, limit: int, full_at: str) -> str:
    dropped = []
    steps = [i for i in cut.no_details if i >= 0 and rendered.steps[i].details]
    if steps:
        dropped.append(f"the details of {len(steps)} step{'s' if len(steps) != 1 else ''}")
    if -1 in cut.no_details and rendered.lineage_details:
        dropped.append("the full lineage IDs")
    passing = sum(1 for i in cut.no_passing for r in rendered.steps[i].rows
                  if r.status in ("pass", "skip"))
    if passing:
        dropped.append(f"{passing} passing or skipped check{'s' if passing != 1 else ''}")
    others = 0
    for index, cap in cut.max_rows.items():
        rows = [r for r in rendered.steps[index].rows
                if index not in cut.no_passing or r.status not in ("pass", "skip")]
        others += max(0, len(rows) - cap)
    if others:
        dropped.append(f"{others} more check{'s' if others != 1 else ''}")
    what = ", ".join(dropped) if dropped else "part of the report"
    return (f"> ✂️ Shortened to fit the {limit:,}-byte limit: left out {what}. "
            f"The full report is in {full_at}.")


def _truncate(text: str, limit: int, full_at: str) -> str:
    """Last resort (e.g. thousands of invalid documents): cut at a line boundary."""
    tail = f"\n\n> ✂️ Cut at the {limit:,}-byte limit. The full report is in {full_at}.\n"
    room = limit - len(tail.encode("utf-8"))
    head = text.encode("utf-8")[:max(0, room)].decode("utf-8", "ignore")
    if "\n" in head:
        head = head[:head.rindex("\n")]
    return head + tail
