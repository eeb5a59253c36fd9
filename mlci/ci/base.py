"""What every CI platform must provide to the steps."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict

Level = Literal["error", "warning", "notice"]
PostAction = Literal["created", "updated", "skipped", "refused", "dry-run"]
Echo = Callable[[str], None]


@dataclass(frozen=True)
class Token:
    """A Git host token and the variable it came from.

    The value is left out of `repr` and `str`, so a stray f-string or traceback
    shows `<token from GITHUB_TOKEN>`, never the secret."""

    value: str = field(repr=False)
    source: str

    def __str__(self) -> str:
        return f"<token from {self.source}>"


@dataclass(frozen=True)
class PostOutcome:
    """What posting the report did. `refused` is the fork case: the host said the
    token may not write, which is expected there and not a failure."""

    action: PostAction
    message: str
    url: str | None = None
    target: str | None = None  # "PR #12", "MR !7"


class Facts(TypedDict):
    """Facts about the run that lineage, history and reports record."""

    platform: str
    run_url: str | None
    actor: str | None
    event: str | None
    sha: str | None  # the commit being built (a merge commit on GitHub PRs)
    head_sha: str | None  # the PR/MR head commit; equals sha outside PRs
    ref: str | None
    repository: str | None
    pipeline_id: str | None
    job_id: str | None


class Platform(ABC):
    name: str = "local"
    # Largest comment body the host accepts, and the largest step summary. Sizes are
    # counted in UTF-8 bytes, which is never less than the host's own count.
    comment_limit: int = 65_536
    summary_limit: int = 1_000_000
    # Variables a token is read from, first found wins (MLCI_TOKEN works everywhere).
    token_names: tuple[str, ...] = ("MLCI_TOKEN",)

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.env = dict(environ)

    @abstractmethod
    def set_outputs(self, step: str, outputs: Mapping[str, str], out_dir: Path) -> None:
        """Expose step outputs (`verdict`, `result-path`, …) to later steps or jobs."""

    def write_summary(self, markdown: str) -> None:  # noqa: B027 - optional hook
        """Show the step's markdown where the platform shows summaries (no-op by default)."""

    def annotate(self, level: Level, message: str, file: str | None = None,  # noqa: B027
                 line: int | None = None) -> None:
        """Attach a message to a file line in the platform's UI (no-op where there is
        none: the step's own log lines already say it)."""

    def mask(self, secret: str) -> None:  # noqa: B027 - optional hook
        """Keep a secret out of the log (no-op where the platform cannot)."""

    @abstractmethod
    def facts(self) -> Facts:
        """Facts about this run; values the platform does not know are None."""

    def token(self) -> Token | None:
        """The token to post with, from the first of `token_names` that is set."""
        for name in self.token_names:
            value = (self.env.get(name) or "").strip()
            if value:
                return Token(value, name)
        return None

    def default_report_id(self) -> str:
        """What tells this pipeline's sticky report apart from others on the same PR/MR."""
        return "mlci"

    def run_link(self) -> str | None:
        """The web page of the run whose results are reported."""
        return self.facts()["run_url"]

    def full_report_hint(self, report_path: str) -> str:
        """Where a reader of a shortened comment finds the whole report."""
        return f"`{report_path}`"

    def post_report(self, body: str, marker: str, token: Token | None, *,
                    dry_run: bool = False, echo: Echo = print) -> PostOutcome:
        """Create or update the one comment that starts with `marker` on this run's PR/MR.

        Platforms without pull or merge requests have nothing to post to."""
        return PostOutcome("skipped", "not running in GitHub Actions or GitLab CI: there is "
                           "no pull or merge request to post to")

    def _get(self, key: str) -> str | None:
        return self.env.get(key) or None


def print_dry_run(echo: Echo, plan: list[str], body: str, limit: int) -> None:
    """What `--post --dry-run` shows: the requests that would be made, then the body.

    Headers are printed with the token replaced by `***`; every line is masked."""
    from mlci import redact

    body = redact.text(body)
    echo("dry run: nothing is sent")
    for line in plan:
        echo(f"  {redact.text(line)}")
    size = len(body.encode("utf-8"))
    echo(f"body ({size:,} bytes of UTF-8; the limit is {limit:,}):")
    echo("-----8<-----")
    echo(body.rstrip("\n"))
    echo("-----8<-----")
