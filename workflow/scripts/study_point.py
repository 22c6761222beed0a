from repro.joblog import log_to

log_to(snakemake.log[0])
import json

from repro.atomic import atomic_file
from repro.studies import run_study_point

summary = run_study_point(
    snakemake.input.features,  # folders: labels are read first, then released
    snakemake.input.labels,
    snakemake.params.config,
    snakemake.wildcards.param,
    snakemake.params.value,
    snakemake.output.epochs,
    threads=snakemake.threads,
)
with atomic_file(snakemake.output.summary) as tmp:
    tmp.write_text(json.dumps(summary, indent=1, default=float))
