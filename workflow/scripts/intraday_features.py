from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.panel import Panel, concat_dates
from repro.preprocess import preprocess_panel

features = snakemake.params.features
raw = concat_dates([Panel.load(path) for path in snakemake.input])
preprocess_panel(raw, features["preprocess_cutoff"], features["mad_k"]).save(snakemake.output[0])
