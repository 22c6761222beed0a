from repro.joblog import log_to

log_to(snakemake.log[0])
import pandas as pd

from repro.evaluate import headline, write_table

write_table(headline(pd.read_csv(snakemake.input[0])), snakemake.output[0])
