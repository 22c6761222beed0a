from repro.joblog import log_to

log_to(snakemake.log[0])
import sys

from repro.data.check import check_data_cli

# Same check, summary and atomic JSON write as `repro check-data`; the error goes to the log.
sys.exit(check_data_cli(snakemake.params.data, summary_path=snakemake.output[0]))
