from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.data import load_market
from repro.features.intraday import compute_year

market = load_market(snakemake.params.data)
panel = compute_year(
    snakemake.params.data["path"],
    snakemake.wildcards.intraday,
    int(snakemake.wildcards.year),
    market.dates,
    market.codes,
)
panel.save(snakemake.output[0])
