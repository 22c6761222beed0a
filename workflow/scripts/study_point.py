from repro.joblog import log_to

log_to(snakemake.log[0])
import json
import os

from repro.panel import Panel
from repro.studies import run_study_point

summary = run_study_point(
    Panel.load(snakemake.input.features),
    Panel.load(snakemake.input.labels),
    snakemake.params.config,
    snakemake.wildcards.param,
    snakemake.params.value,
    snakemake.output.epochs,
)
tmp = snakemake.output.summary + ".tmp"
with open(tmp, "w") as fh:
    json.dump(summary, fh, indent=1, default=float)
os.replace(tmp, snakemake.output.summary)
