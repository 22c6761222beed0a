from repro.joblog import log_to

log_to(snakemake.log[0])
import json
import os

from repro.data.check import check_data

summary = check_data(snakemake.params.data)
tmp = snakemake.output[0] + ".tmp"
with open(tmp, "w") as fh:
    json.dump(summary, fh, indent=1, default=str)
os.replace(tmp, snakemake.output[0])
