from repro.joblog import log_to

log_to(snakemake.log[0])
import json

from repro.atomic import atomic_file
from repro.data.check import check_data

summary = check_data(snakemake.params.data)
with atomic_file(snakemake.output[0]) as tmp:
    tmp.write_text(json.dumps(summary, indent=1, default=str))
