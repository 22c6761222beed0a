from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.data import load_market
from repro.evaluate import EvalContext, load_factor_panels, oracle_recovery, write_table
from repro.panel import Panel
from repro.synth import load_oracle

market = load_market(snakemake.params.data)
ctx = EvalContext.build(market, Panel.load(snakemake.input.labels), snakemake.params.evaluate)
oracle = load_oracle(snakemake.params.data["path"], market.dates, market.codes)
table = oracle_recovery(ctx, load_factor_panels(snakemake.input.factors), oracle)
write_table(table, snakemake.output[0])
