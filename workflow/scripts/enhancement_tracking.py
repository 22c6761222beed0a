from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.enhance.run import tracking_summary
from repro.evaluate import write_table

write_table(
    tracking_summary(snakemake.params.folders, snakemake.params.enhance),
    snakemake.output[0],
)
