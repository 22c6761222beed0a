# All the Python of the workflow: the validated config, the lists the DAG expands over,
# input functions and wildcard constraints. Rules and scripts stay free of logic.
import os
from pathlib import Path

from repro import comparison_page, targets
from repro.config import validate_config
from repro.data import available_datasets, data_years
from repro.enhance import RESULT_FILES
from repro.vocabulary import (
    CONSTRAINTS,
    DATASETS as ALL_DATASETS,
    INDICES,
    INTRADAY_DATASETS,
    MODELS as ALL_MODELS,
)

validate_config(config, source="workflow config")

# Jobs run with --software-deployment-method conda import repro from this checkout.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(
            None, [str(Path(workflow.basedir) / "src"), os.environ.get("PYTHONPATH")]
        )
    )
)

DATA = config["data"]
DATA_PATH = DATA["path"]
SYNTHETIC = DATA["source"] == "synthetic"
DATASETS = [d for d in config["train"]["datasets"] if d in available_datasets(DATA)]
INTRADAY = [d for d in DATASETS if d in INTRADAY_DATASETS]
MODELS = config["train"]["models"]
SEEDS = config["train"]["seeds"]
TEST_YEARS = config["train"]["test_years"]
YEARS = data_years(DATA, config["synthetic"])
STUDY_TABLES = targets.STUDY_PARAMS  # report table -> studied key


wildcard_constraints:
    dataset="|".join(ALL_DATASETS),
    intraday="|".join(INTRADAY_DATASETS),
    model="|".join(ALL_MODELS),
    index="|".join(INDICES),
    constraint="|".join(CONSTRAINTS),
    year=r"\d{4}",
    seed=r"\d+",
    param="|".join(STUDY_TABLES.values()),


def data_checked():
    """The data summary: every rule that reads the data waits for the check."""
    return "results/data/summary.json"


def intraday_years(wildcards):
    return expand(
        "results/features/raw/{intraday}/{year}",
        intraday=wildcards.intraday,
        year=YEARS,
    )


def ms_raw_years(wildcards):
    return (
        expand("results/features/raw/ms/{year}", year=YEARS) if "ms" in INTRADAY else []
    )


def seed_predictions(wildcards):
    return expand(
        "results/predictions/{dataset}/{model}/{year}/seed{seed}.parquet",
        dataset=wildcards.dataset,
        model=wildcards.model,
        year=TEST_YEARS,
        seed=SEEDS,
    )


def config_sections(*sections, **parts):
    """The parts of the config a job reads, passed as its params. Snakemake reruns a job whose
    params changed, so training given the whole config would rerun on any evaluation setting.
    `parts` picks single keys of a section, e.g. studies=("dataset", "seed")."""
    out = {k: config[k] for k in sections}
    out.update({k: {key: config[k][key] for key in keys} for k, keys in parts.items()})
    return out


def study_param(wildcards):
    return STUDY_TABLES[int(wildcards.table)]


def study_points(wildcards):
    param = study_param(wildcards)
    values = config["studies"][param]
    return expand("results/studies/{param}/{value}.json", param=param, value=values)


def study_value(wildcards):
    """The study value as a number, from its wildcard (e.g. '0.001' or '64')."""
    kind = int if wildcards.param == "n_factors" else float
    return kind(wildcards.value)


def classic_panel(wildcards):
    needs = "classic" in targets.TARGETS[f"table{wildcards.table}"].inputs
    return "results/features/classic" if needs else []


def factor_panels():
    return expand("results/factors/{dataset}/{model}", dataset=DATASETS, model=MODELS)


def all_targets():
    """Every table and figure of the registry (repro.targets), and their comparison with the
    report (rules/report.smk)."""
    return targets.all_paths(SYNTHETIC) + comparison_pages()


def reported(name):
    """A registry target as a report() output (its caption and category)."""
    t = targets.TARGETS[name]
    return report(t.path, caption=f"../{t.caption}", category=t.category)


def reported_figures(rule):
    """The figures of the registry a rule writes, as report() outputs."""
    return [reported(t.name) for t in targets.of_rule(rule) if t.is_figure]


def numbers_of(rule):
    """Wildcard constraint matching the table numbers a rule writes."""
    return "|".join(str(n) for n in targets.numbers(rule))


# ---- the comparison with the report (rules/report.smk) ----
COMPARED_TABLES = targets.reference_tables()
COMPARISON_CATEGORY = "Comparison with the report"


def comparison_pages():
    """One HTML page per published table, and the overview page."""
    return expand("results/comparison/{name}.html", name=COMPARED_TABLES) + [
        "results/comparison/summary.html"
    ]


def compared_figures(wildcards):
    """The figures shown with a table (repro.targets.TABLE_FIGURES)."""
    return [t.path for t in targets.figures_of(wildcards.name)]


def comparison_section(wildcards):
    return comparison_page.report_section(wildcards.name)


def comparison_labels(wildcards):
    return comparison_page.report_labels(wildcards.name)


# ---- index enhancement (rules/enhance.smk) ----


def model_factor_panels(wildcards):
    """The factor panels of one model: its `avg` composite is the portfolio's score."""
    return expand(
        "results/factors/{dataset}/{model}", dataset=DATASETS, model=wildcards.model
    )


def portfolio_folder(index, constraint, model):
    return f"results/enhancement/{index}/{constraint}/{model}"


def portfolio_files(index, constraint, model):
    """The files one enhanced portfolio writes (repro.enhance.backtest.RESULT_FILES)."""
    folder = portfolio_folder(index, constraint, model)
    return {key: f"{folder}/{name}" for key, name in RESULT_FILES.items()}


def _portfolio_of(wildcards):
    """(index, constraint) of an enhancement table or figure (repro.targets)."""
    if "table" in wildcards.keys():
        return targets.ENHANCEMENT_TABLES[int(wildcards.table)][:2]
    return targets.ENHANCEMENT_FIGURES[int(wildcards.figure)]


def portfolio_folders(wildcards):
    """{model: folder} of the portfolio an enhancement table or figure shows."""
    return {m: portfolio_folder(*_portfolio_of(wildcards), m) for m in MODELS}


def portfolio_inputs(wildcards):
    return [
        portfolio_files(*_portfolio_of(wildcards), m)[key]
        for m in MODELS
        for key in ("nav", "diagnostics")
    ]


def every_portfolio_folder():
    return [portfolio_folder(i, c, m) for i, c in targets.PORTFOLIOS for m in MODELS]


def every_portfolio(key):
    """One file (a RESULT_FILES key) of every enhanced portfolio."""
    return [
        portfolio_files(i, c, m)[key] for i, c in targets.PORTFOLIOS for m in MODELS
    ]
