from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.enhance.run import write_enhancement_figure

write_enhancement_figure(
    int(snakemake.wildcards.figure), snakemake.params.folders, snakemake.output[0]
)
