# repro: RNN-based multi-frequency factor mining (Orient Securities, 2023), as a workflow.
# Usage: snakemake --cores 2 results/table8.csv   (see README.md)
from snakemake.utils import min_version, validate

min_version("8.0")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/features.smk"
include: "rules/train.smk"
include: "rules/studies.smk"
include: "rules/diagrams.smk"
include: "rules/evaluate.smk"
include: "rules/enhance.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
