"""Charts that need no image host.

Mermaid `xychart-beta` blocks are text: GitHub and GitLab draw them inside the
comment, so a private repository's results never go to a public image host
(the CML problem). PNGs are only written to the out folder for artifact
upload, and only when matplotlib is installed; nothing is ever uploaded.

Mermaid draws several bar series on top of each other, not side by side, so a
chart shows the candidate as bars and the baseline as a line."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_CATEGORIES = 20  # per chart: more labels than this are unreadable
MAX_CHARTS = 6  # per step and kind


@dataclass(frozen=True)
class MetricPoint:
    label: str
    metric: str
    candidate: float
    baseline: float


@dataclass(frozen=True)
class DriftPoint:
    column: str
    score: float
    threshold: float | None
    method: str | None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def metric_points(checks: Sequence[Mapping[str, Any]]) -> list[MetricPoint]:
    """Checks about a metric with both a candidate value and a baseline."""
    points = []
    for check in checks:
        metric, value, baseline = check.get("metric"), _number(check.get("value")), _number(
            check.get("baseline"))
        if isinstance(metric, str) and value is not None and baseline is not None:
            points.append(MetricPoint(str(check.get("name") or metric), metric, value, baseline))
    return points


def drift_points(checks: Sequence[Mapping[str, Any]]) -> list[DriftPoint]:
    """Checks about a data column with a score and no metric: drift tests."""
    points = []
    for check in checks:
        column, score = check.get("column"), _number(check.get("value"))
        if isinstance(column, str) and score is not None and "metric" not in check:
            method = check.get("method")
            points.append(DriftPoint(column, score, _number(check.get("threshold")),
                                     method if isinstance(method, str) else None))
    return points


def _groups_of_metrics(points: list[MetricPoint]) -> list[tuple[str, list[MetricPoint]]]:
    """Scores in [0, 1] share a chart; any other metric (rmse, mae…) gets its own scale."""
    unit = [p for p in points if 0.0 <= p.candidate <= 1.0 and 0.0 <= p.baseline <= 1.0]
    groups: list[tuple[str, list[MetricPoint]]] = [("", unit)] if unit else []
    others: dict[str, list[MetricPoint]] = {}
    for point in points:
        if point not in unit:
            others.setdefault(point.metric, []).append(point)
    groups += sorted(others.items())
    return [(name, chunk) for name, members in groups
            for chunk in _chunks(members, MAX_CATEGORIES)][:MAX_CHARTS]


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _label(text: str, length: int = 40) -> str:
    """A double-quoted Mermaid string: no quotes, no line breaks, not too long."""
    clean = " ".join(text.replace('"', "'").replace("`", "'").split())
    return '"' + (clean if len(clean) <= length else clean[:length - 1] + "…") + '"'


def _value(number: float) -> str:
    """Plain decimals: Mermaid does not read exponents."""
    text = f"{number:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _axis(low: float, high: float, clip: tuple[float, float] | None) -> tuple[float, float]:
    span = high - low
    pad = max(span * 0.25, abs(high) * 0.02, 1e-6)
    low, high = low - pad, high + pad
    if clip is not None:
        low, high = max(clip[0], low), min(clip[1], high)
    return low, high


def _block(title: str, categories: list[str], series: list[tuple[str, list[float]]],
           y_range: tuple[float, float]) -> str:
    lines = ["```mermaid", "xychart-beta", f"    title {_label(title, 80)}",
             "    x-axis [" + ", ".join(_label(c) for c in categories) + "]",
             f"    y-axis {_value(y_range[0])} --> {_value(y_range[1])}"]
    lines += [f"    {kind} [" + ", ".join(_value(v) for v in values) + "]"
              for kind, values in series]
    lines.append("```")
    return "\n".join(lines)


def metric_charts(step: str, checks: Sequence[Mapping[str, Any]]) -> list[str]:
    charts = []
    for name, group in _groups_of_metrics(metric_points(checks)):
        values = [v for p in group for v in (p.candidate, p.baseline)]
        clip = (0.0, 1.0) if not name else None
        y_range = _axis(min(values), max(values), clip)
        if len(group) == 1:
            point = group[0]
            charts.append(_block(f"{step}: {point.label}: candidate vs baseline",
                                 ["candidate", "baseline"],
                                 [("bar", [point.candidate, point.baseline])], y_range))
        else:
            what = f"{step}: {name}" if name else step
            charts.append(_block(f"{what}: candidate (bars) vs baseline (line)",
                                 [p.label for p in group],
                                 [("bar", [p.candidate for p in group]),
                                  ("line", [p.baseline for p in group])], y_range))
    return charts


def drift_charts(step: str, checks: Sequence[Mapping[str, Any]]) -> list[str]:
    by_method: dict[str, list[DriftPoint]] = {}
    for point in drift_points(checks):
        by_method.setdefault(point.method or "", []).append(point)
    charts = []
    for method, members in sorted(by_method.items()):
        for group in _chunks(members, MAX_CATEGORIES):
            thresholds = [p.threshold for p in group]
            values = [p.score for p in group] + [t for t in thresholds if t is not None]
            top = max(values) * 1.1 if max(values) > 0 else 1.0
            if max(values) <= 1.0:  # p-values and distances in [0, 1]
                top = min(top, 1.0)
            y_range = (min(0.0, min(values)), top)
            series = [("bar", [p.score for p in group])]
            with_line = all(t is not None for t in thresholds) and len(group) > 1
            if with_line:
                series.append(("line", [t for t in thresholds if t is not None]))
            kind = f" ({method})" if method else ""
            title = f"{step}: drift score per column{kind}" + (
                ", threshold as line" if with_line else "")
            charts.append(_block(title, [p.column for p in group], series, y_range))
            if len(charts) >= MAX_CHARTS:
                return charts
    return charts


def png_name(label: str, kind: str) -> str:
    return "report-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-") + f"-{kind}.png"


def write_pngs(label: str, checks: Sequence[Mapping[str, Any]], out_dir: Path) -> list[Path]:
    """PNG versions of the charts for artifacts; [] when matplotlib is not installed."""
    metrics, drift = metric_points(checks), drift_points(checks)
    if not metrics and not drift:
        return []
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return []
    written = []
    if metrics:
        figure = Figure(figsize=(max(4.0, 0.6 * len(metrics) + 2), 3.5), dpi=100)
        axes = figure.add_subplot()
        xs = list(range(len(metrics)))
        axes.bar([x - 0.2 for x in xs], [p.candidate for p in metrics], 0.4, label="candidate")
        axes.bar([x + 0.2 for x in xs], [p.baseline for p in metrics], 0.4, label="baseline")
        axes.set_xticks(xs, [p.label for p in metrics], rotation=30, ha="right")
        axes.set_title(f"{label}: candidate vs baseline")
        axes.legend()
        written.append(_save(FigureCanvasAgg(figure), figure, out_dir / png_name(label,
                                                                                "metrics")))
    if drift:
        figure = Figure(figsize=(max(4.0, 0.6 * len(drift) + 2), 3.5), dpi=100)
        axes = figure.add_subplot()
        xs = list(range(len(drift)))
        axes.bar(xs, [p.score for p in drift], 0.6, label="score")
        marks = [(x, p.threshold) for x, p in enumerate(drift) if p.threshold is not None]
        if marks:
            axes.scatter([x for x, _ in marks], [t for _, t in marks], marker="_", s=400,
                         color="red", label="threshold")
        axes.set_xticks(xs, [p.column for p in drift], rotation=30, ha="right")
        axes.set_title(f"{label}: drift per column")
        axes.legend()
        written.append(_save(FigureCanvasAgg(figure), figure, out_dir / png_name(label, "drift")))
    return written


def _save(canvas: Any, figure: Any, path: Path) -> Path:
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.print_png(str(path))
    return path
