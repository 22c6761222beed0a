from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.comparison_page import write_summary_page

write_summary_page(
    list(snakemake.input.ours),
    list(snakemake.input.reference),
    snakemake.output[0],
    readme=snakemake.input.titles,
)
