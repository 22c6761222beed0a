rule study_point:
    input:
        features=f"results/features/{config['studies']['dataset']}",
        labels="results/labels",
    output:
        summary="results/studies/{param}/{value}.json",
        epochs="results/studies/{param}/{value}.csv",
    log:
        "logs/studies/{param}/{value}.log",
    benchmark:
        "results/benchmarks/studies/{param}/{value}.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=1 if config["train"]["device"] == "cuda" else 0,
    params:
        config=config_sections("features", "train", studies=("dataset", "seed")),
        value=study_value,
    script:
        "../workflow/scripts/study_point.py"


rule settings_table:
    output:
        reported("table1"),
    log:
        "logs/tables/table1.log",
    benchmark:
        "results/benchmarks/tables/table1.tsv"
    conda:
        "../envs/repro.yaml"
    params:
        config=config_sections("features", "train"),
    script:
        "../workflow/scripts/settings_table.py"


rule study_table:
    input:
        summaries=study_points,
    output:
        report(
            "results/table{table}.csv",
            caption="../docs/captions/studies.rst",
            category="Studies",
        ),
    log:
        "logs/tables/table{table}.log",
    benchmark:
        "results/benchmarks/tables/table{table}.tsv"
    wildcard_constraints:
        table=numbers_of("study_table"),
    conda:
        "../envs/repro.yaml"
    params:
        param=study_param,
    script:
        "../workflow/scripts/study_table.py"


rule study_figures:
    input:
        lr=expand("results/studies/lr/{value}.csv", value=config["studies"]["lr"]),
        dropout=expand(
            "results/studies/dropout/{value}.csv", value=config["studies"]["dropout"]
        ),
        n_factors=expand(
            "results/studies/n_factors/{value}.csv",
            value=config["studies"]["n_factors"],
        ),
    output:
        reported_figures("study_figures"),
    log:
        "logs/figures/studies.log",
    benchmark:
        "results/benchmarks/figures/studies.tsv"
    conda:
        "../envs/repro.yaml"
    script:
        "../workflow/scripts/study_figures.py"
