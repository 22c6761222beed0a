from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.panel import Panel
from repro.training import average_seeds

labels = Panel.load(snakemake.input.labels, mmap=True)
average_seeds(
    list(snakemake.input.predictions), labels.dates, labels.codes, snakemake.wildcards.model
).save(snakemake.output[0])
