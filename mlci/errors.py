"""Errors that end a step with a message instead of a traceback.

Logic raises these; only the CLI turns them into exit codes, so the same
functions stay usable from tests and other steps."""

from __future__ import annotations

from mlci import redact
from mlci.exitcodes import ExitCode


class MlciError(Exception):
    """Base of every error mlci reports to the user as one clear line.

    `file` and `line`, when known, let CI annotate the line at fault. The message is
    masked when the error is made (`mlci.redact`): it often quotes text from MLflow,
    requests or git, which may repeat a password or a key given on the command line."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        super().__init__(redact.text(message))
        self.file = file
        self.line = line


class InputError(MlciError):
    """Bad usage or bad input: the message names the file, field and expectation."""

    exit_code = ExitCode.BAD_INPUT


class ServiceError(MlciError):
    """An outside service (registry, Git host API) failed after retries."""

    exit_code = ExitCode.SERVICE
