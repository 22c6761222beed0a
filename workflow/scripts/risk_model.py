from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.enhance.run import estimate_risk

estimate_risk(snakemake.params.data, snakemake.params.enhance, snakemake.output[0])
