rule day_features:
    input:
        data=DATA_PATH,
        checked=data_checked(),
    output:
        directory("results/features/day"),
    log:
        "logs/features/day.log",
    benchmark:
        "results/benchmarks/features/day.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        data=DATA,
        features=config["features"],
    script:
        "../workflow/scripts/day_features.py"


rule intraday_year:
    input:
        data=DATA_PATH,
        checked=data_checked(),
    output:
        directory("results/features/raw/{intraday}/{year}"),
    log:
        "logs/features/raw/{intraday}/{year}.log",
    benchmark:
        "results/benchmarks/features/raw/{intraday}/{year}.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        data=DATA,
    script:
        "../workflow/scripts/intraday_year.py"


rule intraday_features:
    input:
        intraday_years,
    output:
        directory("results/features/{intraday}"),
    log:
        "logs/features/{intraday}.log",
    benchmark:
        "results/benchmarks/features/{intraday}.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        features=config["features"],
    script:
        "../workflow/scripts/intraday_features.py"


rule classic_factors:
    input:
        data=DATA_PATH,
        checked=data_checked(),
        ms=ms_raw_years,
    output:
        directory("results/features/classic"),
    log:
        "logs/features/classic.log",
    benchmark:
        "results/benchmarks/features/classic.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        data=DATA,
    script:
        "../workflow/scripts/classic_factors.py"


rule labels:
    input:
        data=DATA_PATH,
        checked=data_checked(),
    output:
        directory("results/labels"),
    log:
        "logs/features/labels.log",
    benchmark:
        "results/benchmarks/features/labels.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        data=DATA,
        features=config["features"],
    script:
        "../workflow/scripts/labels.py"
