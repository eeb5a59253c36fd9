"""JUnit XML, one testcase per check, so GitHub and GitLab test reporters list
every model test next to the code's unit tests."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from mlci.result import Result


def render(result: Result) -> str:
    suite_name = f"mlci.{result.step}"
    checks = result.checks
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", {
        "name": suite_name,
        "tests": str(len(checks)),
        "failures": str(sum(c.status == "fail" for c in checks)),
        "errors": "0",
        "skipped": str(sum(c.status == "skip" for c in checks)),
        "time": f"{result.duration_s:.3f}",
    })
    for check in checks:
        case = ET.SubElement(suite, "testcase", {"classname": suite_name, "name": check.name,
                                                 "time": "0"})
        if check.location is not None:
            case.set("file", check.location.file)
            case.set("line", str(check.location.line))
        if check.status == "fail":
            ET.SubElement(case, "failure", {"message": check.message}).text = check.message
        elif check.status == "skip":
            ET.SubElement(case, "skipped", {"message": check.message})
        else:
            ET.SubElement(case, "system-out").text = f"{check.status.upper()}: {check.message}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def write(result: Result, out_dir: str | os.PathLike[str]) -> Path:
    path = Path(out_dir) / f"{result.step}.junit.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result) + "\n", encoding="utf-8")
    return path
