"""`repro diff`: regenerated tables side by side with the report's (config/reference/).

Every `tableN.csv` (and `headline.csv`) present in both folders is compared. Rows are matched on
the key columns: the leading columns that are not numeric in the reference (e.g. model,
dataset; table 7's `seed`, tables 11-12's `lag` and tables 2-5's parameter column are numeric
keys, see `KEY_COLUMNS`). Numbers are shown as ours, the report's and ours − report's; text
cells (tables 1, 17) as same / differs. The exit status is non-zero only for a structural
mismatch (a missing column, a missing or extra row key, or no table to compare at all) — never
because numbers differ.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

# Numeric leading columns that are row keys, not values.
KEY_COLUMNS = {
    "table2": ["lr"], "table3": ["dropout"], "table4": ["ortho_lambda"], "table5": ["n_factors"],
    "table7": ["seed"], "table11": ["lag"], "table12": ["lag"],
}
_TABLE = re.compile(r"^(table\d+|headline)\.csv$")


def find_reference_dir() -> Path:
    """config/reference of the project: next to the source checkout, else under the CWD."""
    here = Path(__file__).resolve()
    candidates = [p / "config" / "reference" for p in here.parents] + [Path.cwd() / "config" / "reference"]
    for c in candidates:
        if (c / "table8.csv").exists():
            return c
    raise FileNotFoundError(
        "cannot find the reference tables (config/reference/tableN.csv) next to the package or "
        "under the current directory; pass the reference folder explicitly"
    )


def _table_order(name: str) -> tuple:
    m = re.match(r"table(\d+)", name)
    return (0, int(m.group(1))) if m else (1, 0)


def key_columns(name: str, ref: pd.DataFrame) -> list[str]:
    if name in KEY_COLUMNS:
        return KEY_COLUMNS[name]
    keys = []
    for c in ref.columns[:-1]:  # the last column is always a value (tables 1 and 17 are all text)
        if pd.api.types.is_numeric_dtype(ref[c]):
            break
        keys.append(c)
    return keys or [ref.columns[0]]


def _key_strings(df: pd.DataFrame, keys: list[str]) -> list[str]:
    def fmt(v):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v)

    return ["/".join(fmt(v) for v in row) for row in df[keys].itertuples(index=False)]


def compare_table(name: str, ours: pd.DataFrame, ref: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """(structural problems, long comparison with columns table, key, column, ours, reference,
    diff, same). Rows are matched on the key columns."""
    keys = key_columns(name, ref)
    problems = []
    missing_cols = [c for c in ref.columns if c not in ours.columns]
    extra_cols = [c for c in ours.columns if c not in ref.columns]
    for c in missing_cols:
        problems.append(f"{name}: column '{c}' missing from our table")
    for c in extra_cols:
        problems.append(f"{name}: extra column '{c}' not in the reference")
    if any(k in missing_cols for k in keys):
        return problems, pd.DataFrame()
    ours_keys, ref_keys = _key_strings(ours, keys), _key_strings(ref, keys)
    for k in ref_keys:
        if k not in ours_keys:
            problems.append(f"{name}: row {'/'.join(keys)}={k} missing from our table")
    for k in ours_keys:
        if k not in ref_keys:
            problems.append(f"{name}: extra row {'/'.join(keys)}={k} not in the reference")
    for label, ks in (("our", ours_keys), ("reference", ref_keys)):
        dup = sorted({k for k in ks if ks.count(k) > 1})
        if dup:
            problems.append(f"{name}: duplicated row keys in the {label} table: {dup}")
    o = ours.assign(_key=ours_keys).drop_duplicates("_key").set_index("_key")
    rows = []
    for i, k in enumerate(ref_keys):
        if k not in o.index:
            continue
        for c in ref.columns:
            if c in keys or c not in o.columns:
                continue
            r, v = ref[c].iloc[i], o.at[k, c]
            rn, vn = pd.to_numeric(pd.Series([r, v]), errors="coerce")
            if pd.api.types.is_numeric_dtype(ref[c]):
                diff = vn - rn if np.isfinite(vn) and np.isfinite(rn) else np.nan
                rows.append({"table": name, "key": k, "column": c, "ours": vn, "reference": rn,
                             "diff": diff, "same": bool(np.isclose(vn, rn)) if np.isfinite(diff) else False})
            else:
                same = str(v).strip() == str(r).strip()
                rows.append({"table": name, "key": k, "column": c, "ours": v, "reference": r,
                             "diff": np.nan, "same": same})
    return problems, pd.DataFrame(rows, columns=["table", "key", "column", "ours", "reference", "diff", "same"])


def _fmt(x) -> str:
    if isinstance(x, (float, np.floating)):
        return "nan" if not np.isfinite(x) else f"{x:.4f}"
    return str(x)


def numeric_cells(comp: pd.DataFrame) -> pd.Series:
    """True for the rows of a `compare_table` comparison that compare numbers (the rest are text
    cells, e.g. tables 1 and 17)."""
    return comp["diff"].notna() | comp["ours"].map(lambda v: isinstance(v, (int, float, np.number)))


def summarize(comp: pd.DataFrame) -> dict:
    """Counts of a `compare_table` comparison: numbers compared, their mean and max |diff| (NaN
    when none), how many differ (not np.isclose), text cells compared and how many differ."""
    numeric = numeric_cells(comp) if not comp.empty else pd.Series([], dtype=bool)
    d = comp.loc[numeric, "diff"].abs() if not comp.empty else pd.Series([], dtype=float)
    same = comp["same"] if not comp.empty else pd.Series([], dtype=bool)
    return {"numbers": int(numeric.sum()),
            "mean_abs_diff": float(d.mean()) if len(d) else np.nan,
            "max_abs_diff": float(d.max()) if len(d) else np.nan,
            "numbers_differ": int((~same[numeric]).sum()),
            "text_cells": int((~numeric).sum()),
            "text_differ": int((~same[~numeric]).sum())}


def render_text(name: str, keys: list[str], comp: pd.DataFrame) -> str:
    lines = [f"== {name} (rows keyed by {', '.join(keys)})"]
    if comp.empty:
        lines.append("   (nothing comparable)")
        return "\n".join(lines)
    numeric = numeric_cells(comp)
    kw = max(len("key"), comp["key"].str.len().max())
    cw = max(len("column"), comp["column"].str.len().max())
    lines.append(f"   {'key':<{kw}}  {'column':<{cw}}  {'ours':>10}  {'report':>10}  {'diff':>10}")
    for is_num, row in zip(numeric, comp.itertuples(index=False)):
        if is_num:
            tail = f"{_fmt(row.ours):>10}  {_fmt(row.reference):>10}  {_fmt(row.diff):>10}"
        else:
            tail = "same" if row.same else f"differs: ours {row.ours!r} / report {row.reference!r}"
        lines.append(f"   {row.key:<{kw}}  {row.column:<{cw}}  {tail}")
    s = summarize(comp)
    if s["numbers"]:
        lines.append(f"   {s['numbers']} numbers, mean |diff| {s['mean_abs_diff']:.4f}, max |diff| "
                     f"{s['max_abs_diff']:.4f}, {s['numbers_differ']} differ")
    if s["text_cells"]:
        lines.append(f"   {s['text_cells']} text cells, {s['text_differ']} differ")
    return "\n".join(lines)


def diff_cli(results_dir, reference_dir=None, fmt: str = "text", out=None) -> int:
    """Compare results_dir/tableN.csv with the reference; print (text) or write (csv) the
    comparison. Returns 0, or 1 on a structural mismatch (problems printed to stderr)."""
    results_dir = Path(results_dir)
    try:
        reference_dir = Path(reference_dir) if reference_dir else find_reference_dir()
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not reference_dir.is_dir():
        print(f"error: reference folder {reference_dir} not found", file=sys.stderr)
        return 2
    if not results_dir.is_dir():
        print(f"error: results folder {results_dir} not found", file=sys.stderr)
        return 1
    ours_names = {p.name for p in results_dir.iterdir() if _TABLE.match(p.name)}
    ref_names = {p.name for p in reference_dir.iterdir() if _TABLE.match(p.name)}
    common = sorted(ours_names & ref_names, key=lambda n: _table_order(n[:-4]))
    if not common:
        print(f"error: no tableN.csv in {results_dir} matches one in {reference_dir}", file=sys.stderr)
        return 1
    problems, blocks, comps = [], [], []
    for fname in common:
        name = fname[:-4]
        ref = pd.read_csv(reference_dir / fname)
        try:
            ours = pd.read_csv(results_dir / fname)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            problems.append(f"{name}: cannot read {results_dir / fname}: {e}")
            continue
        p, comp = compare_table(name, ours, ref)
        problems += p
        comps.append(comp)
        blocks.append(render_text(name, key_columns(name, ref), comp))
    if fmt == "csv":
        long = pd.concat([c for c in comps if not c.empty], ignore_index=True) if any(not c.empty for c in comps) \
            else pd.DataFrame(columns=["table", "key", "column", "ours", "reference", "diff", "same"])
        long = long.drop(columns="same")
        if out:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            long.to_csv(out, index=False)
        else:
            long.to_csv(sys.stdout, index=False)
    else:
        text = "\n\n".join(blocks) + "\n"
        if out:
            Path(out).write_text(text)
        else:
            sys.stdout.write(text)
    skipped = sorted(ref_names - ours_names, key=lambda n: _table_order(n[:-4]))
    if skipped and fmt == "text":
        print(f"(not in {results_dir}: {', '.join(n[:-4] for n in skipped)})", file=sys.stderr)
    for p in problems:
        print(f"structural mismatch: {p}", file=sys.stderr)
    return 1 if problems else 0
