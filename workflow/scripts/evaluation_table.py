from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.data import load_market
from repro.evaluate import EvalContext, build_table, load_factor_panels, write_table
from repro.panel import Panel

ctx = EvalContext.build(
    load_market(snakemake.params.data), Panel.load(snakemake.input.labels), snakemake.params.evaluate
)
classic = Panel.load(snakemake.input.classic, mmap=True) if snakemake.input.classic else None
table = build_table(
    int(snakemake.wildcards.table), ctx, load_factor_panels(snakemake.input.factors), classic
)
write_table(table, snakemake.output[0])
