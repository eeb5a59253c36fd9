"""What every step does around its logic: time it, turn errors into exit codes,
write the result document, JUnit and summary, set CI outputs, annotate.

Steps only build a `Result`; this module is why they all behave alike in CI."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mlci import junit, summary
from mlci.ci import Platform, detect
from mlci.errors import MlciError
from mlci.exitcodes import ExitCode
from mlci.options import Common
from mlci.result import Result, write_json

T = TypeVar("T")


def run_step(step: str, common: Common, produce: Callable[[Platform], Result],
             outputs: Callable[[Result], dict[str, str]] | None = None) -> int:
    platform = detect()
    started = time.perf_counter()
    result = attempt(f"mlci {step}", platform, common.debug, lambda: produce(platform))
    if isinstance(result, int):
        return result
    result.duration_s = time.perf_counter() - started
    return finish(result, common, platform, outputs(result) if outputs else {})


def attempt(label: str, platform: Platform, debug: bool, work: Callable[[], T]) -> T | int:
    """`work()`, or the exit code of its failure, told in one line (a traceback only
    with --debug). Every step goes through here, so errors look alike everywhere."""
    try:
        return work()
    except MlciError as exc:
        if debug:
            traceback.print_exc()
        print(f"{label}: error: {exc}", file=sys.stderr)
        platform.annotate("error", f"{label}: {exc}", exc.file, exc.line)
        return int(exc.exit_code)
    except Exception as exc:
        if debug:
            raise
        message = f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)"
        print(f"{label}: {message}", file=sys.stderr)
        platform.annotate("error", f"{label}: {message}")
        return int(ExitCode.BAD_INPUT)


def finish(result: Result, common: Common, platform: Platform,
           extra_outputs: dict[str, str]) -> int:
    out = Path(common.out)
    path = write_json(result, out)
    junit_path = junit.write(result, out)
    markdown = summary.markdown(result)
    (out / f"{result.step}.md").write_text(markdown, encoding="utf-8")
    platform.set_outputs(result.step, {"verdict": result.verdict, "result-path": str(path),
                                       "junit-path": str(junit_path), **extra_outputs}, out)
    platform.write_summary(markdown)
    for check in result.checks:
        if check.status in ("fail", "warn"):
            where = check.location
            platform.annotate("error" if check.status == "fail" else "warning",
                              f"mlci {result.step}: {check.name}: {check.message}",
                              where.file if where else None, where.line if where else None)
    print(summary.text(result))
    return int(ExitCode.GATE_FAILED if result.verdict == "fail" else ExitCode.OK)
