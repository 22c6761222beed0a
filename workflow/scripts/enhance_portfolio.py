from repro.joblog import log_to

log_to(snakemake.log[0])
from pathlib import Path

from repro.enhance.run import run_portfolio

w = snakemake.wildcards
run_portfolio(
    snakemake.params.data,
    snakemake.input.labels,
    snakemake.input.factors,
    snakemake.input.risk,
    w.index,
    w.constraint,
    w.model,
    snakemake.params.evaluate,
    snakemake.params.enhance,
    Path(snakemake.output.weights).parent,
)
