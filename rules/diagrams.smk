rule diagrams:
    input:
        labels="results/labels",
    output:
        [
            report(
                f"results/figures/fig{n}.png",
                caption="../docs/captions/diagrams.rst",
                category="Method",
            )
            for n in range(1, 6)
        ],
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
