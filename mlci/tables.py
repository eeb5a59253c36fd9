"""Reading prediction and data files (CSV, Parquet, JSON Lines) into DataFrames,
and the column checks every step needs before it computes anything.

Every failure names the file and the column, because "KeyError: 'y_true'"
is not something a user can act on from a CI log."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
           ".ndjson": "jsonl", ".json": "jsonl"}


SNIFF_BYTES = 1 << 20  # a text table shows its header line within the first MiB
JSONL_CHUNK_BYTES = 1 << 20  # pandas holds a JSON Lines chunk about 15 times over


def read_table(path: str, columns: Collection[str] | None = None) -> pd.DataFrame:
    """The table in `path`; with `columns`, only those of them that the file has, so
    memory follows the data used rather than the file (the full header is kept in
    `frame.attrs["all_columns"]` for error messages). A file that cannot be a table
    (NUL bytes, no line break in its first MiB) is refused before pandas reads it:
    pandas would hold a 2 GB "header" several times over."""
    import pandas as pd

    file = Path(path)
    if not file.is_file():
        raise InputError(f"{path}: file not found")
    kind = FORMATS.get(file.suffix.lower())
    if kind is None:
        raise InputError(f"{path}: unknown file type {file.suffix!r}; expected one of "
                         + ", ".join(sorted(FORMATS)))
    if file.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    line = _sniff(file, kind, path) if kind != "parquet" else 1
    keep = None if columns is None else set(columns)
    try:
        frame, header = _read(pd, file, kind, keep, line)
    except Exception as exc:  # pandas raises many types for unreadable input
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: cannot read as {kind}: {first}") from exc
    if len(frame) == 0:
        raise InputError(f"{path}: file has no rows")
    if keep is not None:
        frame.attrs["all_columns"] = tuple(header)
    return frame


def _sniff(file: Path, kind: str, path: str) -> int:
    """The average line length in the first MiB, after refusing what is not a table."""
    with open(file, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if b"\x00" in head:
        raise InputError(f"{path}: not a {kind} table: NUL bytes in the first {len(head):,} "
                         "bytes (a binary file?); expected text with a header line")
    if len(head) == SNIFF_BYTES and b"\n" not in head and b"\r" not in head:
        raise InputError(f"{path}: not a {kind} table: no line break in the first "
                         f"{SNIFF_BYTES:,} bytes; expected a header line, then one row per line")
    return max(1, len(head) // max(1, head.count(b"\n")))


def _read(pd: Any, file: Path, kind: str, keep: set[str] | None, line: int
          ) -> tuple[pd.DataFrame, list[str]]:
    """(the frame with the kept columns, every column name the file has)."""
    if kind == "csv":
        if keep is None:
            frame = pd.read_csv(file)
            return frame, [str(c) for c in frame.columns]
        header = [str(c) for c in pd.read_csv(file, nrows=0).columns]
        wanted = _present(header, keep)
        return pd.read_csv(file, usecols=lambda name: str(name) in wanted), header
    if kind == "parquet":
        import pyarrow.parquet as pq

        header = [str(c) for c in pq.read_schema(file).names]
        if keep is None:
            return pd.read_parquet(file), header
        chosen = _present(header, keep)
        return pd.read_parquet(file, columns=[c for c in header if c in chosen]), header
    if keep is None:
        frame = pd.read_json(file, lines=True)
        return frame, [str(c) for c in frame.columns]
    chunks, seen = [], dict[str, None]()
    rows = max(100, JSONL_CHUNK_BYTES // line)
    with pd.read_json(file, lines=True, chunksize=rows) as reader:
        for chunk in reader:
            seen.update(dict.fromkeys(str(c) for c in chunk.columns))
            chunks.append(chunk[[c for c in chunk.columns if str(c) in keep]])
    if not chunks:
        return pd.DataFrame(), []
    return pd.concat(chunks, ignore_index=True), list(seen)


def _present(header: list[str], keep: set[str]) -> set[str]:
    """The kept columns the file has; else its first column, so that the rows are still
    counted and the caller's "column not found" names the columns the file does have."""
    return (keep & set(header)) or set(header[:1])


def file_digest(path: str) -> str:
    """sha256 of the file's bytes: what `subject.inputs` records so gates can
    refuse a pass earned on other data."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def require_column(frame: pd.DataFrame, column: str, path: str, why: str) -> pd.Series[Any]:
    if column not in frame.columns:
        header = list(frame.attrs.get("all_columns") or frame.columns)  # all, not just read
        present = ", ".join(map(str, header[:12]))
        more = ", …" if len(header) > 12 else ""
        raise InputError(f"{path}: column {column!r} not found ({why}); "
                         f"columns are: {present}{more}")
    series: pd.Series[Any] = frame[column]
    return series


def labels(frame: pd.DataFrame, column: str, path: str, why: str) -> np.ndarray:
    """A label column: no missing values allowed (a missing label is not a class)."""
    series = require_column(frame, column, path, why)
    missing = int(series.isna().sum())
    if missing:
        raise InputError(f"{path}: column {column!r} has {missing} missing value(s) "
                         f"in row(s) {_rows(series.isna())}; expected a label in every row")
    return series.to_numpy()


def numbers(frame: pd.DataFrame, column: str, path: str, why: str, *,
            probability: bool = False) -> np.ndarray:
    """A numeric column: finite numbers only, and within [0, 1] for probabilities."""
    import numpy as np
    import pandas as pd

    series = require_column(frame, column, path, why)
    if not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)):
        bad = pd.to_numeric(series, errors="coerce").isna() & series.notna()
        example = series[bad].iloc[0] if bad.any() else series.dtype
        raise InputError(f"{path}: column {column!r} must be numeric; found {example!r} "
                         f"in row(s) {_rows(bad)}")
    values = series.to_numpy(dtype=float, na_value=np.nan)
    bad_mask = ~np.isfinite(values)
    if bad_mask.any():
        kind = "NaN" if np.isnan(values[bad_mask][0]) else "inf"
        raise InputError(f"{path}: column {column!r} has {int(bad_mask.sum())} {kind}/missing "
                         f"value(s) in row(s) {_rows(bad_mask)}; expected finite numbers")
    if probability:
        outside = (values < 0) | (values > 1)
        if outside.any():
            raise InputError(f"{path}: column {column!r} has {int(outside.sum())} value(s) "
                             f"outside [0, 1] in row(s) {_rows(outside)} (first: "
                             f"{float(values[outside][0])!r}); expected probabilities")
    return values


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds, so messages show `1`, not `np.int64(1)`."""
    return value.item() if hasattr(value, "item") else value


def _rows(mask: Any, limit: int = 5) -> str:
    """1-based data row numbers of the first few offending rows."""
    import numpy as np

    index = np.flatnonzero(np.asarray(mask))
    shown = ", ".join(str(i + 1) for i in index[:limit])
    return shown + (", …" if len(index) > limit else "")
