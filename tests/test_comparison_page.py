"""The comparison with the report as HTML pages (repro.comparison_page): the cells of
`repro diff`'s comparison, figures embedded, mismatches shown, titles and report labels."""
import base64
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from repro import targets
from repro.comparison_page import (comparison_page, read_table, reference_titles, report_labels,
                                   report_section, summary_page, write_comparison_page,
                                   write_summary_page)
from repro.diff import summarize

REF = Path(__file__).resolve().parents[1] / "config" / "reference"


class _Tables(HTMLParser):
    """Rows of every <table> as lists of cell texts, with each row's class."""

    def __init__(self):
        super().__init__()
        self.tables, self._row, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = ([], dict(attrs).get("class", ""))
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None:
            self._row[0].append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def tables_of(page: str):
    p = _Tables()
    p.feed(page)
    return p.tables


@pytest.fixture
def t8():
    return pd.read_csv(REF / "table8.csv")


def test_table8_cells_ours_report_diff(t8):
    ours = t8.copy()
    ours.loc[(ours["model"] == "uni") & (ours["dataset"] == "day"), "rank_ic_mean"] = 0.1
    page = comparison_page("table8", ours, t8, title="Factor performance per dataset")
    [table] = tables_of(page)
    assert table[0][0] == ["model/dataset", "column", "ours", "report", "ours − report"]
    rows = {(r[0], r[1]): (r[2:], cls) for r, cls in table[1:]}
    assert len(rows) == 6 * 7  # 6 model/dataset rows x 7 value columns
    assert rows[("uni/day", "rank_ic_mean")] == (["0.1000", "0.1342", "-0.0342"], "new-key differs")
    assert rows[("uni/day", "ic_ir")] == (["1.4100", "1.4100", "+0.0000"], "")
    assert rows[("multi/l2", "top_sharpe")][1] == ""
    assert "42 numbers, mean |diff| 0.0008, max |diff| 0.0342, 1 differ" in page  # 0.0342 / 42
    assert "<h1>Table 8: ours, the report's, and the difference</h1>" in page
    assert "Factor performance per dataset" in page


def test_text_cells_say_same_or_differs():
    ref = pd.read_csv(REF / "table17.csv")
    ours = ref.copy()
    ours.loc[0, "definition"] = "something <else>"
    page = comparison_page("table17", ours, ref)
    assert f"{len(ref)} text cells, 1 differ" in page
    [table] = tables_of(page)
    verdicts = [r[-1] for r, _ in table[1:]]
    assert verdicts.count("differs") == 1 and verdicts.count("same") == len(ref) - 1
    row = next(r for r, cls in table[1:] if r[-1] == "differs")
    assert row[2] == "something <else>"  # escaped in the HTML, text again once parsed


def test_missing_numbers_show_a_dash_and_count_as_differing(t8):
    ours = t8.copy()
    ours.loc[ours["dataset"] == "l2", "ic_ir"] = float("nan")
    page = comparison_page("table8", ours, t8)
    rows = {(r[0], r[1]): r[2:] for r, _ in tables_of(page)[0][1:]}
    assert rows[("uni/l2", "ic_ir")] == ["—", "1.2700", "—"]
    assert "2 differ" in page


def test_structural_mismatch_is_listed_and_the_rest_compared(t8):
    ours = t8.drop(columns="top_sharpe")
    ours = ours[~((ours["model"] == "multi") & (ours["dataset"] == "l2"))]
    page = comparison_page("table8", ours, t8)
    assert "table8: column &#x27;top_sharpe&#x27; missing from our table" in page
    assert "table8: row model/dataset=multi/l2 missing from our table" in page
    [table] = tables_of(page)
    assert len(table) - 1 == 5 * 6


def test_figures_are_embedded_after_the_table(tmp_path, t8):
    png = tmp_path / "fig12.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nnot really a picture")
    page = comparison_page("table6", pd.read_csv(REF / "table6.csv"), pd.read_csv(REF / "table6.csv"),
                           figures=[("Figure 12", png)])
    m = re.search(r'<img alt="Figure 12" src="data:image/png;base64,([^"]+)">', page)
    assert m and base64.b64decode(m.group(1)) == png.read_bytes()
    assert page.index("</table>") < m.start()
    assert "<img" not in comparison_page("table8", t8, t8)


def test_write_comparison_page_reads_files_and_names_figures(tmp_path):
    for n in (12, 13):
        (tmp_path / f"fig{n}.png").write_bytes(b"png")
    out = tmp_path / "out" / "table6.html"
    write_comparison_page("table6", REF / "table6.csv", REF / "table6.csv", out, readme=REF / "README.md",
                          figures=[tmp_path / "fig12.png", tmp_path / "fig13.png"])
    page = out.read_text()
    assert 'alt="Figure 12"' in page and 'alt="Figure 13"' in page
    assert "Summary of single-factor performance" in page


def test_unreadable_table_names_the_file(tmp_path):
    bad = tmp_path / "table8.csv"
    bad.write_bytes(b"")
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        read_table(bad)
    with pytest.raises(ValueError, match="table8.csv"):
        write_comparison_page("table8", bad, REF / "table8.csv", tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_reference_titles_drop_column_lists_only():
    titles = reference_titles(REF / "README.md")
    assert titles["table1"] == "Model training settings"
    assert titles["table2"] == "RNN results for different learning rates"
    assert titles["table8"] == "Factor performance per dataset (backtest 20170103-20230428)"
    assert set(targets.reference_tables()) <= set(titles)
    assert titles["table20"] == "CSI 300 enhanced portfolio, yearly performance (constituents >= 80%)"
    assert titles["table21"] == "CSI 300 enhanced portfolio, summary performance (constituents >= 80%)"


def test_report_labels_sort_in_table_order_and_sections():
    labels = [report_labels(n)["table"] for n in targets.reference_tables()]
    numbered = [x for x in labels if x.startswith("Table")]
    assert sorted(numbered) == numbered and numbered[:2] == ["Table 01", "Table 02"]
    assert report_labels("table6")["figures"] == "12, 13, 14, 15, 16, 17"
    assert report_labels("table8")["figures"] == "none"
    assert [report_section(n) for n in ("table1", "table3", "table8", "headline")] == \
        ["Training", "Studies", "Evaluation", "Evaluation"]


def test_figures_of_tables():
    assert [t.name for t in targets.figures_of("table2")] == ["fig6", "fig7"]
    assert targets.figures_of("table8") == []
    with pytest.raises(KeyError):
        targets.figures_of("table99")


def test_summary_page_counts(t8):
    ours = t8.copy()
    ours.loc[0, "ic_ir"] = 1.51  # the report's 1.41
    t1 = pd.read_csv(REF / "table1.csv")
    page = summary_page({"table1": (t1, t1), "table8": (ours, t8)}, {"table8": "Factor performance"})
    [table] = tables_of(page)
    rows = {r[0]: r for r, _ in table[1:]}
    assert rows["table8"] == ["table8", "Factor performance", "42", "0.0024", "0.1000", "1", "0", "0", "0"]
    assert rows["table1"][2:] == ["0", "—", "—", "0", str(len(t1)), "0", "0"]


def test_write_summary_page_pairs_files_by_name(tmp_path):
    ours = tmp_path / "results"
    ours.mkdir()
    for n in ("table8", "headline"):
        shutil.copy(REF / f"{n}.csv", ours / f"{n}.csv")
    out = tmp_path / "summary.html"
    write_summary_page([ours / "table8.csv", ours / "headline.csv"],
                       [REF / "table8.csv", REF / "headline.csv"], out, readme=REF / "README.md")
    assert [r[0] for r, _ in tables_of(out.read_text())[0][1:]] == ["table8", "headline"]
    with pytest.raises(ValueError, match="do not pair up"):
        write_summary_page([ours / "table8.csv"], [REF / "headline.csv"], out)


def test_summarize_counts(t8):
    from repro.diff import compare_table

    ours = t8.copy()
    ours.loc[1, "rank_ic_mean"] = 0.1428  # report 0.1328: +0.01
    _, comp = compare_table("table8", ours, t8)
    s = summarize(comp)
    assert s["numbers"] == 42 and s["numbers_differ"] == 1 and s["text_cells"] == 0
    assert s["max_abs_diff"] == pytest.approx(0.01) and s["mean_abs_diff"] == pytest.approx(0.01 / 42)


def test_whole_number_columns_have_no_decimals():
    ref = pd.read_csv(REF / "table2.csv")  # lr, stop_epoch, valid_rank_ic
    ours = ref.copy()
    ours["stop_epoch"] = ours["stop_epoch"] + 3
    rows = {(r[0], r[1]): r[2:] for r, _ in tables_of(comparison_page("table2", ours, ref))[0][1:]}
    epoch = ref["stop_epoch"].iloc[0]
    assert rows[("0.001", "stop_epoch")] == [str(epoch + 3), str(epoch), "+3"]
    assert rows[("0.001", "valid_rank_ic")][0] == f"{ref['valid_rank_ic'].iloc[0]:.4f}"


def test_page_shows_what_repro_diff_prints(tmp_path, t8):
    """The page and `repro diff --format csv` come from the same comparison: same cells."""
    from repro.diff import diff_cli

    results = tmp_path / "results"
    results.mkdir()
    ours = t8.copy()
    ours["top_sharpe"] = ours["top_sharpe"] - 0.25
    ours.to_csv(results / "table8.csv", index=False)
    assert diff_cli(results, REF, fmt="csv", out=tmp_path / "diff.csv") == 0
    cli = pd.read_csv(tmp_path / "diff.csv")
    page = {(r[0], r[1]): r[2:] for r, _ in tables_of(comparison_page("table8", ours, t8))[0][1:]}
    assert len(page) == len(cli)
    for row in cli.itertuples(index=False):
        assert page[(row.key, row.column)] == [f"{row.ours:.4f}", f"{row.reference:.4f}", f"{row.diff:+.4f}"]
