rule diagrams:
    input:
        labels="results/labels",
    output:
        reported_figures("diagrams"),
    log:
        "logs/figures/diagrams.log",
    benchmark:
        "results/benchmarks/figures/diagrams.tsv"
    conda:
        "../envs/repro.yaml"
    params:
        config=config_sections("features", "train"),
        datasets=DATASETS,
    script:
        "../workflow/scripts/diagrams.py"
