from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.enhance.run import validate_risk

validate_risk(
    snakemake.params.data,
    snakemake.input.risk,
    snakemake.params.folders,
    snakemake.params.enhance,
    snakemake.output.table,
    snakemake.output.figure,
)
