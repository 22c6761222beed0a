"""The comparison with the report as HTML pages for the Snakemake report (`snakemake --report`).

`repro diff` prints the comparison in the terminal; this module renders the same comparison
(`repro.diff.compare_table`: rows matched on key columns, ours, the report's, ours − report's)
as self-contained HTML pages — one per published table (config/reference/, SPEC §8), with the
figures the report draws from that table's runs (`repro.targets.TABLE_FIGURES`) below it, and one
overview page. Structural mismatches (a missing column or row) are shown on the page, not
raised: the report must still build so the user can see them.
"""
from __future__ import annotations

import base64
import html
import logging
import re
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from .atomic import atomic_file
from .diff import compare_table, key_columns, numeric_cells, summarize
from .targets import TARGETS, figures_of

log = logging.getLogger(__name__)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin-bottom: 0.2em; }
p.title { color: #555; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e4e4e4; }
th { background: #f2f2f2; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.new-key td { border-top: 2px solid #bbb; }
tr.differs td.diff { background: #fff2cc; }
ul.problems { background: #fde8e8; padding: 0.6em 2em; }
figure { display: inline-block; margin: 0.5em 1em 0.5em 0; }
figure img { max-width: 480px; border: 1px solid #ddd; }
"""


def read_table(path) -> pd.DataFrame:
    """A results or reference CSV; an unreadable file is an error naming it."""
    try:
        return pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read table {path}: {e}") from e


def reference_titles(readme) -> dict[str, str]:
    """Table titles from config/reference/README.md's file list ("- table8.csv: Title (cols)"),
    without the trailing column list. A pair line ("- table18.csv / table19.csv: CSI 300
    enhanced portfolio, yearly / summary performance (…)") gives each table its half."""
    titles = {}
    for line in Path(readme).read_text(encoding="utf-8").splitlines():
        m = re.match(r"^- (table\d+|headline)\.csv(?: / (table\d+)\.csv)?: (.+)$", line.strip())
        if not m:
            continue
        first, second, title = m.group(1), m.group(2), re.sub(r"\s*\([^ ()]*,[^ ()]*\)$", "", m.group(3)).strip()
        pair = re.search(r"(\w+) / (\w+)", title) if second else None
        if pair:
            titles[first] = title.replace(pair.group(0), pair.group(1), 1)
            titles[second] = title.replace(pair.group(0), pair.group(2), 1)
        else:
            titles[first] = title
            if second:
                titles[second] = title
    return titles


def report_section(name: str) -> str:
    """The report-category subfolder of a table's comparison: its own category in the registry
    (Training, Studies, Evaluation); the headline numbers come from table 13 (Evaluation)."""
    return TARGETS[name].category or "Evaluation"


def report_labels(name: str) -> dict[str, str]:
    """Labels of a comparison page in the HTML report's listing (zero-padded so that the
    report's lexicographic sort puts table 2 before table 10)."""
    t = TARGETS[name]
    figs = [str(f.number) for f in figures_of(name)]
    return {"table": f"Table {t.number:02d}" if t.number is not None else name,
            "figures": ", ".join(figs) if figs else "none"}


def _num(x, integer: bool = False) -> str:
    if x is None or (isinstance(x, (float, np.floating)) and not np.isfinite(x)):
        return "—"
    return str(int(x)) if integer else f"{float(x):.4f}"


def _integer_columns(comp: pd.DataFrame, numeric) -> set[str]:
    """Value columns whose every number (ours and the report's) is whole, e.g. stop_epoch: shown
    without decimals; all others with four, like `repro diff`."""
    out = set()
    for col, g in comp[numeric].groupby("column"):
        v = pd.to_numeric(pd.concat([g["ours"], g["reference"]]), errors="coerce").dropna()
        if len(v) and (v == v.round()).all():
            out.add(col)
    return out


def _diff(x, integer: bool = False) -> str:
    if not np.isfinite(x):
        return "—"
    return f"{int(x):+d}" if integer else f"{x:+.4f}"


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")


def _problems(problems: list[str]) -> str:
    if not problems:
        return ""
    items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
    return f"<p><b>Structural mismatches</b> (not compared):</p><ul class=\"problems\">{items}</ul>"


def _summary_line(comp: pd.DataFrame) -> str:
    s = summarize(comp)
    parts = []
    if s["numbers"]:
        parts.append(f"{s['numbers']} numbers, mean |diff| {_num(s['mean_abs_diff'])}, "
                     f"max |diff| {_num(s['max_abs_diff'])}, {s['numbers_differ']} differ")
    if s["text_cells"]:
        parts.append(f"{s['text_cells']} text cells, {s['text_differ']} differ")
    return "; ".join(parts) or "nothing comparable"


def comparison_table_html(comp: pd.DataFrame, keys: list[str]) -> str:
    """The long comparison of `compare_table` as an HTML table: key, column, ours, report,
    ours − report (numbers) or same / differs (text cells)."""
    head = (f"<tr><th>{html.escape('/'.join(keys))}</th><th>column</th><th>ours</th>"
            f"<th>report</th><th>ours − report</th></tr>")
    rows, last_key = [], None
    numeric = numeric_cells(comp) if not comp.empty else pd.Series([], dtype=bool)
    integer = _integer_columns(comp, numeric) if not comp.empty else set()
    for is_num, r in zip(numeric, comp.itertuples(index=False)):
        cls = [c for c, on in (("new-key", r.key != last_key), ("differs", not r.same)) if on]
        last_key = r.key
        if is_num:
            whole = r.column in integer
            cells = (f"<td class=\"num\">{_num(r.ours, whole)}</td>"
                     f"<td class=\"num\">{_num(r.reference, whole)}</td>"
                     f"<td class=\"num diff\">{_diff(r.diff, whole)}</td>")
        else:
            cells = (f"<td>{html.escape(str(r.ours))}</td><td>{html.escape(str(r.reference))}</td>"
                     f"<td class=\"diff\">{'same' if r.same else 'differs'}</td>")
        rows.append(f"<tr class=\"{' '.join(cls)}\"><td>{html.escape(str(r.key))}</td>"
                    f"<td>{html.escape(str(r.column))}</td>{cells}</tr>")
    return f"<table class=\"comparison\">\n{head}\n" + "\n".join(rows) + "\n</table>"


def _figures_html(figures: Iterable[tuple[str, Path]]) -> str:
    out = []
    for label, path in figures:
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        out.append(f"<figure><img alt=\"{html.escape(label)}\" src=\"data:image/png;base64,{data}\">"
                   f"<figcaption>{html.escape(label)} (ours)</figcaption></figure>")
    if not out:
        return ""
    return "<h2>Figures from this table's runs</h2>\n" + "\n".join(out)


def comparison_page(name: str, ours: pd.DataFrame, ref: pd.DataFrame, title: str = "",
                    figures: Iterable[tuple[str, Path]] = ()) -> str:
    """One table's page: title, counts, structural mismatches, the side-by-side table, and the
    figures (label, PNG path) drawn from the same runs."""
    problems, comp = compare_table(name, ours, ref)
    keys = key_columns(name, ref)
    t = TARGETS.get(name)
    heading = f"Table {t.number}" if t is not None and t.number is not None else name
    body = [f"<h1>{html.escape(heading)}: ours, the report's, and the difference</h1>"]
    if title:
        body.append(f"<p class=\"title\">{html.escape(title)}</p>")
    body.append(f"<p class=\"counts\">Rows matched on {html.escape(', '.join(keys))}. "
                f"{html.escape(_summary_line(comp))}.</p>")
    body.append(_problems(problems))
    if not comp.empty:
        body.append(comparison_table_html(comp, keys))
    body.append(_figures_html(figures))
    return _page(f"{heading}: comparison with the report", "\n".join(b for b in body if b))


def summary_page(tables: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]],
                 titles: Mapping[str, str] | None = None) -> str:
    """One row per compared table (ours, reference): counts, mean / max |diff|, mismatches."""
    titles = titles or {}
    rows, all_problems = [], []
    for name, (ours, ref) in tables.items():
        problems, comp = compare_table(name, ours, ref)
        all_problems += problems
        s = summarize(comp)
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(titles.get(name, ''))}</td>"
            f"<td class=\"num\">{s['numbers']}</td><td class=\"num\">{_num(s['mean_abs_diff'])}</td>"
            f"<td class=\"num\">{_num(s['max_abs_diff'])}</td><td class=\"num\">{s['numbers_differ']}</td>"
            f"<td class=\"num\">{s['text_cells']}</td><td class=\"num\">{s['text_differ']}</td>"
            f"<td class=\"num\">{len(problems)}</td></tr>")
    head = ("<tr><th>table</th><th>title</th><th>numbers</th><th>mean |diff|</th><th>max |diff|</th>"
            "<th>numbers differ</th><th>text cells</th><th>text differ</th><th>structural</th></tr>")
    body = ["<h1>Comparison with the report: all tables</h1>",
            "<p class=\"title\">Each table's own page shows ours, the report's numbers and the "
            "difference cell by cell (the same comparison as <code>repro diff</code>).</p>",
            f"<table class=\"summary\">\n{head}\n" + "\n".join(rows) + "\n</table>",
            _problems(all_problems)]
    return _page("Comparison with the report", "\n".join(b for b in body if b))


def write_comparison_page(name: str, ours_csv, reference_csv, out, readme=None,
                          figures: Iterable = ()) -> None:
    """Read our table and the published one, write the page (figures: PNG paths, named figN)."""
    titles = reference_titles(readme) if readme else {}
    figs = [(f"Figure {TARGETS[Path(p).stem].number}", Path(p)) for p in figures]
    ours, ref = read_table(ours_csv), read_table(reference_csv)
    problems, comp = compare_table(name, ours, ref)
    for p in problems:
        log.warning("structural mismatch (shown on the page): %s", p)
    log.info("%s: %s; %d figures", name, _summary_line(comp), len(figs))
    page = comparison_page(name, ours, ref, titles.get(name, ""), figs)
    with atomic_file(out) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")


def write_summary_page(ours_csvs: list, reference_csvs: list, out, readme=None) -> None:
    """The overview page; ours_csvs[i] and reference_csvs[i] are the same table (by file name)."""
    if [Path(p).name for p in ours_csvs] != [Path(p).name for p in reference_csvs]:
        raise ValueError(f"ours and reference tables do not pair up: {list(map(str, ours_csvs))} "
                         f"vs {list(map(str, reference_csvs))}")
    tables = {Path(o).stem: (read_table(o), read_table(r)) for o, r in zip(ours_csvs, reference_csvs)}
    page = summary_page(tables, reference_titles(readme) if readme else {})
    with atomic_file(out) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")


__all__ = ["comparison_page", "comparison_table_html", "read_table", "reference_titles",
           "report_labels", "report_section", "summary_page", "write_comparison_page",
           "write_summary_page"]
