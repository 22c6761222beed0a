"""`DataError`: bad input data, reported with the file, the column and example rows.

The project charter asks that bad input fail loudly with enough context to fix it: every
check in `repro.data` raises a `DataError` whose message reads like
``daily/2021.parquet: column 'high': 3 rows with high < max(open, close):`` followed by
up to five offending rows printed as a small table.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

MAX_ROWS_SHOWN = 5


class DataError(ValueError):
    """Input data that violate the contract of docs/data.md."""


def rows_error(
    file: str,
    column: str,
    what: str,
    rows,
    mask: np.ndarray | None = None,
    columns: list[str] | None = None,
    n_total: int | None = None,
    noun: str = "row",
) -> DataError:
    """A `DataError` naming `file` and `column`, with the count and the first offending rows.

    `rows` is a pyarrow Table / RecordBatch or a pandas DataFrame; `mask` (bool, one per row)
    selects the offending rows (all rows when None); `columns` restricts what is printed;
    `n_total` is the count to report when `rows` holds only the first few offenders; `noun`
    names what one row is (e.g. "(date, index) pair").
    """
    n = len(rows) if mask is None else int(np.count_nonzero(mask))
    n = n if n_total is None else n_total
    if mask is not None:
        first = np.flatnonzero(mask)[:MAX_ROWS_SHOWN]
        rows = (
            rows.take(first) if isinstance(rows, (pa.Table, pa.RecordBatch)) else rows.iloc[first]
        )
    else:
        rows = (
            rows.slice(0, MAX_ROWS_SHOWN)
            if isinstance(rows, (pa.Table, pa.RecordBatch))
            else rows.iloc[:MAX_ROWS_SHOWN]
        )
    frame = rows.to_pandas() if isinstance(rows, (pa.Table, pa.RecordBatch)) else rows
    if columns is not None:
        frame = frame[[c for c in columns if c in frame.columns]]
    table = frame.to_string(index=False)
    more = f"\n  ... and {n - len(frame)} more" if n > len(frame) else ""
    noun = noun if n == 1 else noun + "s"
    body = "\n".join("  " + line for line in table.splitlines())
    return DataError(f"{file}: column '{column}': {n} {noun} with {what}:\n{body}{more}")
