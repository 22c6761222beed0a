# Index enhancement (report §4, tables 18-29, figures 18-23; SPEC §7): a price-volume risk
# model, one weekly-optimised portfolio per index x constraint x model from the `avg` composite,
# the report's tables and NAV figures, and the risk model's bias statistics.


rule risk_model:
    input:
        data=DATA_PATH,
        checked=data_checked(),
    output:
        "results/enhancement/risk_model.npz",
    log:
        "logs/enhancement/risk_model.log",
    benchmark:
        "results/benchmarks/enhancement/risk_model.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=16000,
        runtime=120,
    params:
        data=DATA,
        enhance=config["enhance"],
    script:
        "../workflow/scripts/risk_model.py"


rule enhance_portfolio:
    input:
        data=DATA_PATH,
        checked=data_checked(),
        labels="results/labels",
        factors=model_factor_panels,
        risk="results/enhancement/risk_model.npz",
    output:
        **portfolio_files("{index}", "{constraint}", "{model}"),
    log:
        "logs/enhancement/{index}/{constraint}/{model}.log",
    benchmark:
        "results/benchmarks/enhancement/{index}/{constraint}/{model}.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        data=DATA,
        evaluate=config["evaluate"],
        enhance=config["enhance"],
    script:
        "../workflow/scripts/enhance_portfolio.py"


rule enhancement_table:
    input:
        portfolio_inputs,
    output:
        report(
            "results/table{table}.csv",
            caption="../docs/captions/enhancement.rst",
            category="Index enhancement",
        ),
    log:
        "logs/tables/table{table}.log",
    benchmark:
        "results/benchmarks/tables/table{table}.tsv"
    wildcard_constraints:
        table=numbers_of("enhancement_table"),
    conda:
        "../envs/repro.yaml"
    params:
        folders=portfolio_folders,
    script:
        "../workflow/scripts/enhancement_table.py"


rule enhancement_figure:
    input:
        portfolio_inputs,
    output:
        report(
            "results/figures/fig{figure}.png",
            caption="../docs/captions/enhancement.rst",
            category="Index enhancement",
        ),
    log:
        "logs/figures/fig{figure}.log",
    benchmark:
        "results/benchmarks/figures/fig{figure}.tsv"
    wildcard_constraints:
        figure=numbers_of("enhancement_figure"),
    conda:
        "../envs/repro.yaml"
    params:
        folders=portfolio_folders,
    script:
        "../workflow/scripts/enhancement_figure.py"


rule enhancement_tracking:
    input:
        every_portfolio("nav"),
        every_portfolio("diagnostics"),
    output:
        reported("enhancement_tracking"),
    log:
        "logs/enhancement/tracking.log",
    benchmark:
        "results/benchmarks/enhancement/tracking.tsv"
    conda:
        "../envs/repro.yaml"
    params:
        folders=every_portfolio_folder(),
        enhance=config["enhance"],
    script:
        "../workflow/scripts/enhancement_tracking.py"


rule risk_bias:
    input:
        data=DATA_PATH,
        checked=data_checked(),
        risk="results/enhancement/risk_model.npz",
        weights=every_portfolio("weights"),
    output:
        table=reported("risk_bias"),
        figure=reported("risk_bias_figure"),
    log:
        "logs/enhancement/risk_bias.log",
    benchmark:
        "results/benchmarks/enhancement/risk_bias.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=16000,
        runtime=60,
    params:
        data=DATA,
        folders=every_portfolio_folder(),
        enhance=config["enhance"],
    script:
        "../workflow/scripts/risk_bias.py"


if SYNTHETIC:

    rule enhancement_oracle:
        input:
            data=DATA_PATH,
            checked=data_checked(),
            labels="results/labels",
            risk="results/enhancement/risk_model.npz",
        output:
            reported("enhancement_oracle"),
        log:
            "logs/enhancement/oracle.log",
        benchmark:
            "results/benchmarks/enhancement/oracle.tsv"
        conda:
            "../envs/repro.yaml"
        threads: 1
        resources:
            mem_mb=8000,
            runtime=120,
        params:
            data=DATA,
            evaluate=config["evaluate"],
            enhance=config["enhance"],
        script:
            "../workflow/scripts/enhancement_oracle.py"
