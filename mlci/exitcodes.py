"""Exit codes shared by every step (docs/architecture.md), so `if: failure()` and
GitLab `when: on_failure` behave the same whichever step failed."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # ran; verdict pass or warn
    GATE_FAILED = 1  # ran; verdict fail
    BAD_INPUT = 2  # bad usage or bad input; nothing changed
    SERVICE = 3  # an outside service failed after retries; nothing half-changed
