"""The one registry of what the workflow builds: every table and figure of the report (and our
extras), with the rule that writes it, its HTML-report category and caption, the function that
builds it and the inputs that function needs. rules/common.smk, the evaluation scripts, the
tests and `repro diff` read it; adding a table means adding an entry here and, where it is
built by a new rule, that rule.

Target names are file stems: `table8` -> results/table8.csv, `fig12` -> results/figures/fig12.png.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from .vocabulary import CONSTRAINTS, INDICES


@dataclass(frozen=True)
class Target:
    name: str
    rule: str  # the Snakemake rule that writes it
    category: str | None = None  # HTML-report category; None = not in the report
    caption: str | None = None  # docs/captions/… (relative to the project root)
    builder: str | None = None  # "module:function" of repro, for rules that build by name
    inputs: tuple[str, ...] = ()  # extra inputs the builder takes beyond its rule's own
    synthetic_only: bool = False  # needs the planted oracle of the synthetic market
    file: str | None = None  # a path other than results/{name}.csv / results/figures/{name}.png

    @property
    def is_figure(self) -> bool:
        return self.path.endswith(".png")

    @property
    def number(self) -> int | None:
        digits = self.name.removeprefix("table").removeprefix("fig")
        return int(digits) if digits.isdigit() else None

    @property
    def path(self) -> str:
        if self.file:
            return self.file
        return f"results/figures/{self.name}.png" if self.name.startswith("fig") else f"results/{self.name}.csv"

    def build(self, *args, **kwargs):
        """Call the builder function (imported on first use, so importing the registry is cheap)."""
        if self.builder is None:
            raise ValueError(f"{self.name} is written by rule {self.rule}, not by a builder function")
        module, func = self.builder.split(":")
        return getattr(importlib.import_module(f"repro.{module}"), func)(*args, **kwargs)


_EVAL = "docs/captions/evaluation.rst"
_STUDY = "docs/captions/studies.rst"
_BEYOND = "Beyond the report"
_INCREMENTAL = "docs/captions/incremental.rst"
_ENHANCE = "Index enhancement"
_ENHANCE_CAPTION = "docs/captions/enhancement.rst"
STUDY_PARAMS = {2: "lr", 3: "dropout", 4: "ortho_lambda", 5: "n_factors"}  # report table -> key
# Report §4: one enhanced portfolio per index × constraint, in the report's order; portfolio k has
# the yearly table 18 + 2k, the summary table 19 + 2k and the NAV figure 18 + k.
PORTFOLIOS = tuple((index, constraint) for index in INDICES for constraint in CONSTRAINTS)
ENHANCEMENT_TABLES = {18 + 2 * k + j: (index, constraint, kind) for k, (index, constraint) in enumerate(PORTFOLIOS)
                      for j, kind in enumerate(("yearly", "summary"))}
ENHANCEMENT_FIGURES = {18 + k: portfolio for k, portfolio in enumerate(PORTFOLIOS)}


def _entries():
    yield Target("table1", "settings_table", "Training", "docs/captions/table1.rst")
    for n in STUDY_PARAMS:
        yield Target(f"table{n}", "study_table", "Studies", _STUDY)
    yield Target("table6", "unit_tables", "Evaluation", _EVAL)
    for n in range(7, 17):
        inputs = ("classic",) if n in (15, 16) else ()
        yield Target(f"table{n}", "evaluation_table", "Evaluation", _EVAL, f"evaluate:table{n}", inputs)
    yield Target("table17", "definitions_table", "Evaluation", _EVAL, "evaluate:table17")
    yield Target("headline", "headline", builder="evaluate:headline")
    yield Target("oracle_recovery", "oracle_recovery", "Evaluation", "docs/captions/oracle.rst",
                 "evaluate:oracle_recovery", synthetic_only=True)
    yield Target("baselines", "incremental", _BEYOND, _INCREMENTAL, "incremental:baselines", ("classic",))
    yield Target("incremental", "incremental", _BEYOND, _INCREMENTAL, "incremental:incremental", ("classic",))
    for n in range(1, 6):
        yield Target(f"fig{n}", "diagrams", "Method", "docs/captions/diagrams.rst")
    for n in range(6, 12):
        yield Target(f"fig{n}", "study_figures", "Studies", _STUDY)
    for n in range(12, 18):
        yield Target(f"fig{n}", "unit_tables", "Evaluation", _EVAL)
    yield Target("fig_incremental", "incremental", _BEYOND, _INCREMENTAL, "incremental:plot_incremental")
    for n in ENHANCEMENT_TABLES:
        yield Target(f"table{n}", "enhancement_table", _ENHANCE, _ENHANCE_CAPTION,
                     "enhance.performance:enhancement_table")
    for n in ENHANCEMENT_FIGURES:
        yield Target(f"fig{n}", "enhancement_figure", _ENHANCE, _ENHANCE_CAPTION, "enhance.performance:plot_nav")
    yield Target("risk_bias", "risk_bias", _ENHANCE, "docs/captions/risk_bias.rst", "risk.bias:bias_statistics",
                 file="results/enhancement/risk_bias.csv")
    yield Target("enhancement_tracking", "enhancement_tracking", _ENHANCE, "docs/captions/risk_bias.rst",
                 "enhance.run:tracking_summary", file="results/enhancement/tracking.csv")
    yield Target("enhancement_oracle", "enhancement_oracle", _ENHANCE, "docs/captions/risk_bias.rst",
                 "enhance.run:oracle_check", synthetic_only=True, file="results/enhancement/oracle.csv")
    yield Target("risk_bias_figure", "risk_bias", _ENHANCE, "docs/captions/risk_bias.rst", "risk.bias:plot_bias",
                 file="results/enhancement/risk_bias.png")


TARGETS: dict[str, Target] = {t.name: t for t in _entries()}


def of_rule(rule: str) -> list[Target]:
    """The targets one rule writes, in registry order."""
    found = [t for t in TARGETS.values() if t.rule == rule]
    if not found:
        raise KeyError(f"no target is written by rule {rule!r}")
    return found


def numbers(rule: str) -> list[int]:
    """The table / figure numbers a rule writes (e.g. evaluation_table -> 7 … 16)."""
    return [t.number for t in of_rule(rule)]


def all_paths(synthetic: bool) -> list[str]:
    """Every target's path: the `all` target of the workflow."""
    return [t.path for t in TARGETS.values() if synthetic or not t.synthetic_only]


# The figures the report draws from a table's runs: section 2's study curves (figs 6-11) and
# section 3.1's factor-unit histograms (figs 12-17, summarised by table 6).
TABLE_FIGURES = {
    "table2": ("fig6", "fig7"), "table3": ("fig8", "fig9"), "table5": ("fig10", "fig11"),
    "table6": ("fig12", "fig13", "fig14", "fig15", "fig16", "fig17"),
    **{f"table{n}": (f"fig{18 + (n - 18) // 2}",) for n in ENHANCEMENT_TABLES},
}


def figures_of(name: str) -> list[Target]:
    """The figures shown with table `name` (none for most tables)."""
    if name not in TARGETS:
        raise KeyError(f"no target named {name!r}")
    return [TARGETS[f] for f in TABLE_FIGURES.get(name, ())]


def reference_tables() -> list[str]:
    """The registry's names that the report publishes (config/reference/{name}.csv)."""
    return [t.name for t in TARGETS.values() if t.name.startswith("table") or t.name == "headline"]


__all__ = ["ENHANCEMENT_FIGURES", "ENHANCEMENT_TABLES", "PORTFOLIOS", "STUDY_PARAMS", "TABLE_FIGURES", "TARGETS", "Target", "all_paths", "figures_of",
           "numbers", "of_rule", "reference_tables"]
