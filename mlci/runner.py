"""What every step does around its logic: time it, turn errors into exit codes,
write the result document, JUnit and summary, set CI outputs, annotate.

Steps only build a `Result`; this module is why they all behave alike in CI."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from mlci import config as config_module
from mlci import junit, redact, summary
from mlci.ci import Platform, detect
from mlci.errors import InputError, MlciError
from mlci.exitcodes import ExitCode
from mlci.options import Common
from mlci.result import Result, write_json

T = TypeVar("T")
Opts = TypeVar("Opts")
# A document field: the step's outcome stands, but its outside service failed afterwards.
SERVICE_ERROR = "service_error"


def run_step(step: str, common: Common, produce: Callable[[Platform], Result], *,
             make_out: bool = True) -> int:
    platform = detect()
    started = time.perf_counter()
    ready = attempt(f"mlci {step}", platform, common.debug,
                    lambda: ready_out(common.out, create=make_out))
    if isinstance(ready, int):
        return ready
    result = attempt(f"mlci {step}", platform, common.debug,
                     lambda: judged(produce(platform), common))
    if isinstance(result, int):
        return result
    result.duration_s = time.perf_counter() - started
    return finish(result, common, platform)


@dataclass(frozen=True)
class Context:
    """What every step's run function gets besides its own options: the config
    (loaded once, here), the out folder and the CI platform."""

    config: config_module.Config
    out: Path
    platform: Platform


def run(step: str, common: Common, function: Callable[[Context, Opts], Result],
        options: Opts, *, document: bool = True, uses_out: bool = True,
        make_out: bool = True) -> int:
    """The one way a command runs a step (or a mode of one): `function(context, options)`
    inside `run_step`, so config errors, bad input and service failures all end alike.

    `document=False` is for a mode that judges nothing (`canary plan`, `history`): no
    result document, JUnit or summary, so `report` and the gates never see a verdict
    nobody earned; the runner only sets `result.outputs`, prints `result.summary` and
    says each `warn` check on stderr. `uses_out=False` (with it) is for a mode that
    writes nothing to the out folder (`history`): the folder is neither made nor
    required, and no CI outputs are set. `make_out=False` is for a step that reads
    the out folder (report): a missing folder is its to tell, not ours to create."""

    def produce(platform: Platform) -> Result:
        config = config_module.load(config_module.resolve_path(common.config))
        return function(Context(config, Path(common.out), platform), options)

    if not document:
        return _run_without_document(step, common, produce, uses_out)
    return run_step(step, common, produce, make_out=make_out)


def _run_without_document(step: str, common: Common, produce: Callable[[Platform], Result],
                          uses_out: bool = True) -> int:
    platform = detect()

    def work() -> Result:
        if uses_out:
            ready_out(common.out)
        return produce(platform)

    # errors read as the command was typed: `mlci canary plan: error: …`
    label = f"mlci {step.replace('-', ' ')}"
    made = attempt(label, platform, common.debug, work)
    if isinstance(made, int):
        return made
    redact.result(made)
    if uses_out:
        platform.set_outputs(step, made.outputs, Path(common.out))
    print(made.summary)
    for check in made.checks:
        if check.status == "warn":
            print(f"{label}: warning: {check.message}", file=sys.stderr)
    return int(ExitCode.OK)


def judged(result: Result, common: Common) -> Result:
    """A run that judged nothing (no checks, or only skips) is bad input for the steps
    that gate (validate, compare) unless --allow-empty: a green job that tested nothing,
    e.g. because the config was named wrong, is a pass by accident."""
    if not common.require_checks or result.verdict != "skip":
        return result
    hint = "or pass --allow-empty to accept a run that judges nothing"
    if not result.checks:
        raise InputError(f"nothing to check: {result.summary} (add tests to mlci.yml, {hint})")
    first, more = result.checks[0], len(result.checks) - 1
    others = f"; and {more} more" if more else ""
    raise InputError(f"nothing to check: every check was skipped ({first.name}: "
                     f"{first.message}{others}); give them their inputs, {hint}")


def attempt(label: str, platform: Platform, debug: bool, work: Callable[[], T]) -> T | int:
    """`work()`, or the exit code of its failure, told in one line (a traceback only
    with --debug). Every step goes through here, so errors look alike everywhere, and
    every error line and annotation is masked (`mlci.redact`): error text quotes
    MLflow, requests and git, which repeat URLs with their passwords."""
    redact.mask_known(platform)
    try:
        return work()
    except MlciError as exc:
        if debug:
            print(redact.text(traceback.format_exc()), end="", file=sys.stderr)
        print(redact.text(f"{label}: error: {exc}"), file=sys.stderr)
        platform.annotate("error", f"{label}: {exc}", exc.file, exc.line)
        return int(exc.exit_code)
    except Exception as exc:
        if debug:  # the traceback, masked: a bare `raise` would print secrets unmasked
            print(redact.text(traceback.format_exc()), end="", file=sys.stderr)
        message = f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)"
        print(redact.text(f"{label}: {message}"), file=sys.stderr)
        platform.annotate("error", f"{label}: {message}")
        return int(ExitCode.BAD_INPUT)


def ready_out(folder: str, *, create: bool = True) -> Path:
    """The out folder, shown writable before a step does any work (and made, with
    `create`): a bad --out is exit 2 naming the folder, never a traceback after the
    work is done. Without `create`, a missing folder is judged by its nearest parent."""
    path = Path(folder)
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            with tempfile.TemporaryFile(dir=path):
                pass
        else:
            _creatable(path)
    except OSError as exc:
        raise InputError(f"--out {folder}: cannot write there ({_why(exc, path)}); expected "
                         "a folder mlci can create and write to") from None
    return path


def _creatable(path: Path) -> None:
    """Raise what mkdir would, without making anything: the nearest existing parent
    must be a folder we may write to."""
    if path.exists():
        raise FileExistsError(17, "File exists", str(path))
    parent = next(p for p in path.absolute().parents if p.exists())
    if not parent.is_dir():
        raise NotADirectoryError(20, "Not a directory", str(path))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(13, "Permission denied", str(parent))


def _why(exc: OSError, path: Path) -> str:
    if isinstance(exc, FileExistsError) or (path.exists() and not path.is_dir()):
        return "it is a file, not a folder"
    if isinstance(exc, NotADirectoryError):
        parent = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        return f"{parent} is a file, not a folder" if parent else "a parent is not a folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or type(exc).__name__


def finish(result: Result, common: Common, platform: Platform) -> int:
    redact.result(result)  # everything below is made from it
    out = Path(common.out)
    written = attempt(f"mlci {result.step}", platform, common.debug, lambda: _write(result, out))
    if isinstance(written, int):
        return written
    path, junit_path, markdown = written
    platform.set_outputs(result.step, {"verdict": result.verdict, "result-path": str(path),
                                       "junit-path": str(junit_path), **result.outputs}, out)
    if not result.wrote_page:
        platform.write_summary(markdown)
    for check in result.checks:
        if check.status in ("fail", "warn"):
            where = check.location
            platform.annotate("error" if check.status == "fail" else "warning",
                              f"mlci {result.step}: {check.name}: {check.message}",
                              where.file if where else None, where.line if where else None)
    print(summary.text(result))
    if result.verdict == "fail":
        return int(ExitCode.GATE_FAILED)
    return _service_failed_after(result)


def _service_failed_after(result: Result) -> int:
    """Exit 3 when the outcome stands (the document says so) but the outside service
    failed afterwards, e.g. promote's queue ticket could not be removed: the step puts
    that in `extra["service_error"]` (the document keeps it), and it is told here as an
    error line, after the document is written."""
    problem = result.extra.get(SERVICE_ERROR)
    if not problem:
        return int(ExitCode.OK)
    print(redact.text(f"mlci {result.step}: error: {problem}"), file=sys.stderr)
    return int(ExitCode.SERVICE)


def _write(result: Result, out: Path) -> tuple[Path, Path, str]:
    """The result document, JUnit and markdown summary; a folder that fails under us
    (full disk, removed) is exit 2 naming it, like a bad --out."""
    try:
        path = write_json(result, out)
        junit_path = junit.write(result, out)
        markdown = summary.markdown(result)
        if not result.wrote_page:
            (out / f"{result.step}.md").write_text(markdown, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write the results there ({_why(exc, out)})"
                         ) from None
    return path, junit_path, markdown
