from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.enhance.run import write_enhancement_table

write_enhancement_table(
    int(snakemake.wildcards.table), snakemake.params.folders, snakemake.output[0]
)
