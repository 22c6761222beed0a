from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.studies import settings_table

settings_table(snakemake.params.config).to_csv(snakemake.output[0], index=False)
