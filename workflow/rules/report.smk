# report: what `snakemake --report` shows beside the stages' own figures (each tagged where it is made):
# data_statistics (the crawls and the ETL conversion), metric_tables (each metrics.json as HTML) and
# report_gallery (the caption gallery with its photos inlined), progress_animations (the generators'
# progress GIFs, inlined in one page: the report shows GIFs only as downloads) and ratings_summary (the
# people's judgements of the app's Rate page as a table, made only once results/ratings.sqlite exists)


report: "../report/workflow.rst"


rule data_statistics:
    input:
        bokes=rules.scrape_bokete.output.csv,
        captions=caption_table,
        vocab=rules.train_captioner.output.vocab,
        bokete_manifest=rules.download_bokete_images.output.manifest,
        menu=rules.scrape_dodo.output.csv,
        recipes=rules.encode_recipes.output.recipes,
        pizza_manifest=rules.download_dodo_images.output.manifest,
        etl=rules.convert_etl.output.h5,
    output:
        statistics=report_path("data_statistics.json"),
        bokete=report(
            report_path("bokete_data.png"),
            caption="../report/bokete_data.rst",
            category="Boke",
            subcategory="Data",
            labels={"figure": "crawl and caption data"},
        ),
        pizza=report(
            report_path("pizza_data.png"),
            caption="../report/pizza_data.rst",
            category="Pizza",
            subcategory="Data",
            labels={"figure": "menu, ingredients and crawl"},
        ),
        hiragana=report(
            report_path("hiragana_data.png"),
            caption="../report/hiragana_data.rst",
            category="Hiragana",
            subcategory="Data",
            labels={"figure": "ETL samples a class"},
        ),
    log:
        log_path("data_statistics"),
    benchmark:
        benchmark_path("data_statistics")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.report:cmd_report_data"),
    shell:
        "neta report data-statistics --bokes {input.bokes:q} --captions {input.captions:q}"
        " --vocab {input.vocab:q} --bokete-manifest {input.bokete_manifest:q} --menu {input.menu:q}"
        " --recipes {input.recipes:q} --pizza-manifest {input.pizza_manifest:q} --etl {input.etl:q}"
        " --out {output.statistics:q} --bokete-figure {output.bokete:q} --pizza-figure {output.pizza:q}"
        " --hiragana-figure {output.hiragana:q} > {log:q} 2>&1"


rule metric_tables:
    input:
        hiragana=rules.evaluate_hiragana.output.metrics,
        boke=rules.evaluate_captioner.output.metrics,
        pizza=rules.evaluate_pizza.output.metrics,
    output:
        hiragana=report(
            report_path("hiragana_metrics.html"),
            caption="../report/hiragana_metrics.rst",
            category="Hiragana",
            subcategory="Evaluation",
            labels={"figure": "metrics table"},
        ),
        boke=report(
            report_path("boke_metrics.html"),
            caption="../report/boke_metrics.rst",
            category="Boke",
            subcategory="Evaluation",
            labels={"figure": "metrics table"},
        ),
        pizza=report(
            report_path("pizza_metrics.html"),
            caption="../report/pizza_metrics.rst",
            category="Pizza",
            subcategory="Evaluation",
            labels={"figure": "metrics table"},
        ),
    log:
        log_path("metric_tables"),
    benchmark:
        benchmark_path("metric_tables")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.report:cmd_report_tables"),
    shell:
        "neta report metric-tables --table hiragana {input.hiragana:q} {output.hiragana:q}"
        " --table boke {input.boke:q} {output.boke:q} --table pizza {input.pizza:q} {output.pizza:q}"
        " > {log:q} 2>&1"


rule report_gallery:
    input:
        samples=rules.evaluate_captioner.output.samples,
        metrics=rules.evaluate_captioner.output.metrics,
        captions=caption_table,
    output:
        gallery=report(
            report_path("boke_gallery.html"),
            caption="../report/boke_gallery.rst",
            category="Boke",
            subcategory="Evaluation",
            labels={"figure": "caption gallery"},
        ),
    log:
        log_path("report_gallery"),
    benchmark:
        benchmark_path("report_gallery")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.report:cmd_report_gallery"),
    shell:
        "neta report gallery --samples {input.samples:q} --captions {input.captions:q}"
        " --metrics {input.metrics:q} --out {output.gallery:q} > {log:q} 2>&1"


rule progress_animations:
    input:
        **{
            kind.name: generator_path(kind.name, "_progress.gif")
            for kind in GENERATOR_KINDS
        },
    output:
        page=report(
            report_path("pizza_progress.html"),
            caption="../report/pizza_progress_page.rst",
            category="Pizza",
            subcategory="Training progress",
            labels={"model": "all four, animated"},
        ),
    log:
        log_path("progress_animations"),
    benchmark:
        benchmark_path("progress_animations")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.report:cmd_report_animations"),
        gifs=lambda wildcards, input: " ".join(
            f"--gif {quoted_pairs([(kind.short, input[kind.name])], sep=' ')}"
            for kind in GENERATOR_KINDS
        ),
    shell:
        "neta report animations {params.gifs}"
        " --title 'Pizza generators: samples during training' --out {output.page:q} > {log:q} 2>&1"


rule ratings_summary:
    input:
        db=ratings_database,
    output:
        table=report(
            report_path("ratings.html"),
            caption="../report/ratings.rst",
            category="Boke",
            subcategory="Evaluation",
            labels={"figure": "human ratings"},
        ),
    log:
        log_path("ratings_summary"),
    benchmark:
        benchmark_path("ratings_summary")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.ratings:cmd_ratings_summary"),
        wal=ratings_log_state,
    shell:
        "neta ratings summary --db {input.db:q} --html {output.table:q} > {log:q} 2>&1"
