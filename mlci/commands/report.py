from __future__ import annotations

import sys
from typing import Any

import click

from mlci.options import common, common_options, option

EXAMPLES = """\b
Examples:
  # render every .mlci/*.json into .mlci/report.md (and the job summary on GitHub)
  mlci report

\b
  # also create or update the one sticky comment on the pull request
  GITHUB_TOKEN=... mlci report --post

\b
  # show the requests and the comment body without sending anything
  mlci report --post --dry-run

\b
  # a second sticky report on the same PR, from result documents in another folder
  mlci report --post --id nightly --out nightly-results

\b
Token (environment only, never a flag): MLCI_TOKEN, else GITHUB_TOKEN on GitHub
(needs `permissions: pull-requests: write`), or MLCI_GITLAB_TOKEN / GITLAB_TOKEN
on GitLab (a project access token with the api scope; CI_JOB_TOKEN cannot post
notes). On fork pull requests the token is read-only: report warns, exits 0, and
docs/report.md shows the workflow_run setup that posts anyway.
"""


@click.command(epilog=EXAMPLES)
@option("post", is_flag=True,
        help="Create or update the sticky comment on the pull/merge request (for a push, "
             "the open one of the commit).")
@option("dry-run", is_flag=True,
        help="Print the requests and the body --post would send; send nothing.")
@option("id", metavar="ID",
        help="Sticky comment ID, for several reports on one PR/MR "
             "[default: the workflow name on GitHub, the job name on GitLab].")
@common_options
def report(**kwargs: Any) -> None:
    """Render every result document in the out folder as one markdown report.

    Writes <out>/report.md (and chart PNGs when matplotlib is installed), fills
    the step summary, and with --post keeps one comment per PR/MR up to date.
    Exits 0 whatever the reported verdict (see the overall-verdict output).
    """
    from mlci import runner
    from mlci.report.options import Options
    from mlci.report.run import run

    sys.exit(runner.run("report", common(kwargs), run, Options(
        post=kwargs["post"], dry_run=kwargs["dry_run"], report_id=kwargs["id"]),
        make_out=False))
