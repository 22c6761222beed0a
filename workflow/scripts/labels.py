from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.data import load_market
from repro.labels import make_labels

features = snakemake.params.features
market = load_market(snakemake.params.data)
make_labels(
    market, features["label_start"], features["label_end"], features["min_listed_days"]
).save(snakemake.output[0])
