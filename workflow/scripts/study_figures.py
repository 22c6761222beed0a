from repro.joblog import log_to

log_to(snakemake.log[0])
from pathlib import Path

from repro.studies import study_figures

figs = list(snakemake.output)
for param, out in (("lr", figs[0:2]), ("dropout", figs[2:4]), ("n_factors", figs[4:6])):
    logs = {Path(p).stem: p for p in snakemake.input[param]}
    study_figures(param, logs, out)
