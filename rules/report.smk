# The "report" stage: the comparison with the report's published tables (config/reference/)
# as pages of the HTML report (snakemake --report), next to the figures of the same runs.
# Each job reads a few small CSVs for a second: on a cluster they run on the submit host.


localrules:
    compare_with_report,
    comparison_summary,


rule compare_with_report:
    input:
        ours="results/{name}.csv",
        reference="config/reference/{name}.csv",
        titles="config/reference/README.md",
        figures=compared_figures,
    output:
        report(
            "results/comparison/{name}.html",
            caption="../docs/captions/comparison.rst",
            category=COMPARISON_CATEGORY,
            subcategory=comparison_section,
            labels=comparison_labels,
        ),
    log:
        "logs/report/comparison/{name}.log",
    benchmark:
        "results/benchmarks/report/comparison/{name}.tsv"
    wildcard_constraints:
        name="|".join(COMPARED_TABLES),
    conda:
        "../envs/repro.yaml"
    script:
        "../workflow/scripts/compare_with_report.py"


rule comparison_summary:
    input:
        ours=expand("results/{name}.csv", name=COMPARED_TABLES),
        reference=expand("config/reference/{name}.csv", name=COMPARED_TABLES),
        titles="config/reference/README.md",
    output:
        report(
            "results/comparison/summary.html",
            caption="../docs/captions/comparison.rst",
            category=COMPARISON_CATEGORY,
            subcategory="All tables (summary)",
            labels={"table": "all tables", "figures": "none"},
        ),
    log:
        "logs/report/comparison/summary.log",
    benchmark:
        "results/benchmarks/report/comparison/summary.tsv"
    conda:
        "../envs/repro.yaml"
    script:
        "../workflow/scripts/comparison_summary.py"
