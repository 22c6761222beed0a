from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.enhance.run import oracle_check
from repro.evaluate import write_table

table = oracle_check(
    snakemake.params.data,
    snakemake.input.labels,
    snakemake.input.risk,
    snakemake.params.evaluate,
    snakemake.params.enhance,
)
write_table(table, snakemake.output[0])
