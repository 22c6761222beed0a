rule train:
    input:
        features="results/features/{dataset}",
        labels="results/labels",
    output:
        predictions="results/predictions/{dataset}/{model}/{year}/seed{seed}.parquet",
        epochs="results/train_logs/{dataset}/{model}/{year}/seed{seed}.csv",
        checkpoint="results/checkpoints/{dataset}/{model}/{year}/seed{seed}.pt",
    log:
        "logs/train/{dataset}/{model}/{year}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{dataset}/{model}/{year}/seed{seed}.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=1 if config["train"]["device"] == "cuda" else 0,
    params:
        config=config_sections("features", "train"),
    script:
        "../workflow/scripts/train.py"


rule average_seeds:
    input:
        predictions=seed_predictions,
        labels="results/labels",
    output:
        directory("results/factors/{dataset}/{model}"),
    log:
        "logs/train/average/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/train/average/{dataset}/{model}.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow/scripts/average_seeds.py"
