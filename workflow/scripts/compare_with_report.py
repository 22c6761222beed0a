from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.comparison_page import write_comparison_page

write_comparison_page(
    snakemake.wildcards.name,
    snakemake.input.ours,
    snakemake.input.reference,
    snakemake.output[0],
    readme=snakemake.input.titles,
    figures=list(snakemake.input.figures),
)
