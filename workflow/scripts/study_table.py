from repro.joblog import log_to

log_to(snakemake.log[0])
import json

from repro.studies import study_table

points = {}
for path in snakemake.input.summaries:
    with open(path) as fh:
        summary = json.load(fh)
    points[summary["value"]] = summary
study_table(snakemake.params.param, points).to_csv(snakemake.output[0], index=False)
