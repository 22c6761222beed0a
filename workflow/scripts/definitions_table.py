from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.evaluate import table17, write_table

write_table(table17(), snakemake.output[0])
