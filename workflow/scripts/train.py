from repro.joblog import log_to

log_to(snakemake.log[0])
from repro.training import train_and_predict

w = snakemake.wildcards
train_and_predict(
    snakemake.input.features,  # folders: labels are read first, then released
    snakemake.input.labels,
    dataset=w.dataset,
    model=w.model,
    year=int(w.year),
    seed=int(w.seed),
    cfg=snakemake.params.config,
    predictions_path=snakemake.output.predictions,
    log_path=snakemake.output.epochs,
    checkpoint_path=snakemake.output.checkpoint,
    threads=snakemake.threads,
)
