from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.synth import generate_market

generate_market(snakemake.params.synthetic, snakemake.output[0])
