from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.data import load_market
from repro.features.classic import classic_factors
from repro.panel import Panel, concat_dates

market = load_market(snakemake.params.data)
ms_raw = concat_dates([Panel.load(path) for path in snakemake.input.ms]) if snakemake.input.ms else None
classic_factors(market, ms_raw).save(snakemake.output[0])
