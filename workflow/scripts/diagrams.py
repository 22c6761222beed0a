from repro.joblog import log_to

log_to(snakemake.log[0])
import logging

from repro.diagrams import draw_all
from repro.panel import Panel

calendar = Panel.load(snakemake.input.labels, mmap=True).dates  # the data's trading days
schedule = draw_all(snakemake.params.config, calendar, snakemake.params.datasets, snakemake.output)
logging.getLogger("diagrams").info("rolling schedule (fig 5):\n%s", schedule.to_string(index=False))
