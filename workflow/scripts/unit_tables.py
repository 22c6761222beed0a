from repro.joblog import log_to

log_to(snakemake.log[0])
from pathlib import Path

from repro.data import load_market
from repro.evaluate import (
    EvalContext,
    load_factor_panels,
    plot_unit_histograms,
    table6,
    unit_statistics,
    write_table,
)
from repro.panel import Panel

ctx = EvalContext.build(
    load_market(snakemake.params.data), Panel.load(snakemake.input.labels), snakemake.params.evaluate
)
units = unit_statistics(ctx, load_factor_panels(snakemake.input.factors, models=("multi",)))
write_table(table6(units), snakemake.output.table6)
plot_unit_histograms(units, Path(snakemake.output.figures[0]).parent)
