from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.data import load_market
from repro.features.day import day_panel, preprocess_day_panel

features = snakemake.params.features
market = load_market(snakemake.params.data)
panel = preprocess_day_panel(
    day_panel(market), features["preprocess_cutoff"], features["window"], features["mad_k"]
)
panel.save(snakemake.output[0])
