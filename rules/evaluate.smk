rule unit_tables:
    input:
        data=DATA_PATH,
        checked=data_checked(),
        labels="results/labels",
        factors=factor_panels(),
    output:
        table6=reported("table6"),
        figures=reported_figures("unit_tables"),
    log:
        "logs/tables/table6.log",
    benchmark:
        "results/benchmarks/tables/table6.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        data=DATA,
        evaluate=config["evaluate"],
    script:
        "../workflow/scripts/unit_tables.py"


rule evaluation_table:
    input:
        data=DATA_PATH,
        checked=data_checked(),
        labels="results/labels",
        factors=factor_panels(),
        classic=classic_panel,
    output:
        report(
            "results/table{table}.csv",
            caption="../docs/captions/evaluation.rst",
            category="Evaluation",
        ),
    log:
        "logs/tables/table{table}.log",
    benchmark:
        "results/benchmarks/tables/table{table}.tsv"
    wildcard_constraints:
        table=numbers_of("evaluation_table"),
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        data=DATA,
        evaluate=config["evaluate"],
    script:
        "../workflow/scripts/evaluation_table.py"


rule definitions_table:
    output:
        reported("table17"),
    log:
        "logs/tables/table17.log",
    benchmark:
        "results/benchmarks/tables/table17.tsv"
    conda:
        "../envs/repro.yaml"
    script:
        "../workflow/scripts/definitions_table.py"


rule headline:
    input:
        "results/table13.csv",
    output:
        "results/headline.csv",
    log:
        "logs/tables/headline.log",
    benchmark:
        "results/benchmarks/tables/headline.tsv"
    conda:
        "../envs/repro.yaml"
    script:
        "../workflow/scripts/headline.py"


rule oracle_recovery:
    input:
        data=DATA_PATH,
        checked=data_checked(),
        labels="results/labels",
        factors=factor_panels(),
    output:
        reported("oracle_recovery"),
    log:
        "logs/tables/oracle_recovery.log",
    benchmark:
        "results/benchmarks/tables/oracle_recovery.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        data=DATA,
        evaluate=config["evaluate"],
    script:
        "../workflow/scripts/oracle_recovery.py"


rule incremental:
    input:
        data=DATA_PATH,
        checked=data_checked(),
        labels="results/labels",
        factors=factor_panels(),
        classic="results/features/classic",
    output:
        baselines=reported("baselines"),
        incremental=reported("incremental"),
        figure=reported("fig_incremental"),
    log:
        "logs/tables/incremental.log",
    benchmark:
        "results/benchmarks/tables/incremental.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        data=DATA,
        evaluate=config["evaluate"],
    script:
        "../workflow/scripts/incremental.py"
