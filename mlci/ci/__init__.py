"""The one place that knows which CI system runs us.

Everything platform-specific (where outputs go, the step summary,
annotations, masking, the facts about the run) sits behind `Platform`, so no
other module reads CI variables."""

from __future__ import annotations

import os
from collections.abc import Mapping

from mlci.ci.base import Facts, Platform
from mlci.ci.github import GitHub
from mlci.ci.gitlab import GitLab
from mlci.ci.local import Local

__all__ = ["Facts", "GitHub", "GitLab", "Local", "Platform", "detect"]


def detect(environ: Mapping[str, str] | None = None) -> Platform:
    env = dict(os.environ if environ is None else environ)
    if env.get("GITHUB_ACTIONS") == "true":
        return GitHub(env)
    if env.get("GITLAB_CI") == "true":
        return GitLab(env)
    return Local(env)
