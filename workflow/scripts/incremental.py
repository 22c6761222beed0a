from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.data import load_market
from repro.evaluate import EvalContext, load_factor_panels, write_table
from repro.incremental import baselines, incremental, label_horizon, plot_incremental
from repro.panel import Panel

labels = Panel.load(snakemake.input.labels)
ctx = EvalContext.build(load_market(snakemake.params.data), labels, snakemake.params.evaluate)
classic = Panel.load(snakemake.input.classic, mmap=True)
base = baselines(ctx, classic, label_horizon(labels))
incr = incremental(ctx, load_factor_panels(snakemake.input.factors), classic)
write_table(base, snakemake.output.baselines)
write_table(incr, snakemake.output.incremental)
plot_incremental(incr, base, snakemake.output.figure)
