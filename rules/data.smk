if SYNTHETIC:

    rule synth:
        output:
            directory(DATA_PATH),
        log:
            "logs/data/synth.log",
        benchmark:
            "results/benchmarks/data/synth.tsv"
        conda:
            "../envs/repro.yaml"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        params:
            synthetic=config["synthetic"],
        script:
            "../workflow/scripts/synth.py"


rule check_data:
    input:
        DATA_PATH,
    output:
        "results/data/summary.json",
    log:
        "logs/data/check_data.log",
    benchmark:
        "results/benchmarks/data/check_data.tsv"
    conda:
        "../envs/repro.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        data=DATA,
    script:
        "../workflow/scripts/check_data.py"
