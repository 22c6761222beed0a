# All the Python of the workflow: the validated config, the lists the DAG expands over,
# input functions and wildcard constraints. Rules and scripts stay free of logic.
import os
from pathlib import Path

from repro.config import validate_config
from repro.data import available_datasets, data_years

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
INTRADAY = [d for d in DATASETS if d in ("ms", "l2")]
MODELS = config["train"]["models"]
SEEDS = config["train"]["seeds"]
TEST_YEARS = config["train"]["test_years"]
YEARS = data_years(DATA, config["synthetic"])
STUDY_TABLES = {
    2: "lr",
    3: "dropout",
    4: "ortho_lambda",
    5: "n_factors",
}  # report table -> studied key


wildcard_constraints:
    dataset="|".join(["day", "ms", "l2"]),
    intraday="|".join(["ms", "l2"]),
    model="|".join(["uni", "multi"]),
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
    return "results/features/classic" if int(wildcards.table) in (15, 16) else []


def factor_panels():
    return expand("results/factors/{dataset}/{model}", dataset=DATASETS, model=MODELS)


def all_targets():
    tables = [f"results/table{n}.csv" for n in range(1, 18)]
    figures = [f"results/figures/fig{n}.png" for n in range(1, 18)]
    extra = ["results/headline.csv"] + ["results/oracle_recovery.csv"] * SYNTHETIC
    return tables + figures + extra
