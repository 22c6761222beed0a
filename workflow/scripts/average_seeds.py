from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.panel import Panel
from repro.seed_average import average_seeds

codes = Panel.load(snakemake.input.labels, mmap=True).codes
average_seeds(
    list(snakemake.input.predictions), None, codes, snakemake.wildcards.model
).save(snakemake.output[0])
