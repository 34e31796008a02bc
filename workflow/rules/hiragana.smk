# hiragana: [synthetic_etl] → convert_etl → train_hiragana → evaluate_hiragana, which also scores
# the recognizer (hiragana.model: bn_cnn) of convert_etl_bn_cnn → train_hiragana_bn_cnn, and
# synthetic_etl_heldout → convert_etl_heldout: writers of style families no training writer has,
# and both writer sets again in every layout (relayout_hiragana_*: ETL8G, ETL8B2, pictures)
from neta.commands import etl as etl_commands, hiragana as hiragana_commands

# priority 3 on the chain to train_hiragana (one thread, ~4 min) and on the pizza chain to the
# generators: the two long poles start first, side by side, and the short jobs fill in around them.
# Without it the run waited for hiragana's training with one core idle (12 min 19 s, against 10 min).
# Every job of the default run holds one core (threads: 1): a 2-thread job waits until both cores are
# free at once, which in a packed run happens only at the end, so convert_etl (and with it the
# training) started at minute 5 behind the pizza generators (10 min 44 s). One a job, the two lanes
# run side by side. `--set-threads extract_features=2` speeds a big crawl's features when alone.
# Priority 1 on what evaluate_hiragana waits for besides the trainings (the held-out writers, the
# relayouts) and on itself: the report, the longest job left, starts as the training ends, beside
# the pizza generators, instead of last and alone with one core idle.


rule synthetic_etl:
    output:
        etl_dir=directory(hiragana_path("etl_synthetic")),
    log:
        log_path("synthetic_etl"),
    benchmark:
        benchmark_path("synthetic_etl")
    priority: 3
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2048),
        runtime=runtime(work_minutes(config["hiragana"]["synth"]["writers"], 1)),
    params:
        **code_params("neta.commands.etl:cmd_etl_synth"),
        settings=settings(etl_commands.SYNTH_KEYS),
    message:
        "Writing SYNTHETIC format-exact ETL8G files (stand-in for the registration-only database)"
    shell:
        "neta etl synth --format ETL8G --out {output.etl_dir:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule convert_etl:
    input:
        etl_dir=etl_input_dir,
    output:
        h5=LAYOUT.etl,
    log:
        log_path("convert_etl"),
    benchmark:
        benchmark_path("convert_etl")
    priority: 3
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1024),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.etl:cmd_etl_convert"),
        format=etl_format(),
        settings=settings(etl_commands.CONVERT_KEYS),
    shell:
        "neta etl convert --format {params.format:q} --input {input.etl_dir:q}"
        " --out {output.h5:q} --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"


rule convert_etl_bn_cnn:
    input:
        etl_dir=etl_input_dir,
    output:
        h5=LAYOUT.bn_cnn_etl,
    log:
        log_path("convert_etl_bn_cnn"),
    benchmark:
        benchmark_path("convert_etl_bn_cnn")
    priority: 3
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1024),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.etl:cmd_etl_convert_bn_cnn"),
        format=etl_format(),
        settings=settings(etl_commands.CONVERT_BN_CNN_KEYS),
    message:
        "Converting the ETL records again at hiragana.bn_cnn.size for the batch-normalised CNN"
    shell:
        "neta etl convert-bn-cnn --format {params.format:q} --input {input.etl_dir:q}"
        " --out {output.h5:q} --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"


rule train_hiragana:
    input:
        h5=rules.convert_etl.output.h5,
    output:
        model=LAYOUT.tutorial_cnn_model,
    log:
        log_path("train_hiragana"),
    benchmark:
        benchmark_path("train_hiragana")
    priority: 3
    conda:
        "../../envs/neta.yaml"
    # one thread: the small CNN gains 1.7x from a second thread, and the default run is bound by the
    # CPU, whose other core the generators' training wants (with 2 threads the run took 11.6 min)
    threads: 1
    resources:
        mem_mb=mem_mb(1536),
        runtime=runtime(
            work_minutes(
                config["hiragana"]["train"]["steps"]
                + config["hiragana"]["baseline"]["steps"],
                0.11,
            )
        ),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.hiragana:cmd_hiragana_train"),
        settings=settings(hiragana_commands.TRAIN_KEYS),
    shell:
        "neta hiragana train --etl {input.h5:q} --out {output.model:q}"
        " --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"


rule train_hiragana_bn_cnn:
    input:
        h5=rules.convert_etl_bn_cnn.output.h5,
    output:
        model=LAYOUT.bn_cnn_model,
    log:
        log_path("train_hiragana_bn_cnn"),
    benchmark:
        benchmark_path("train_hiragana_bn_cnn")
    priority: 3
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1536),
        runtime=runtime(work_minutes(config["hiragana"]["bn_cnn"]["steps"], 0.11)),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.hiragana:cmd_hiragana_train_bn_cnn"),
        settings=settings(hiragana_commands.BN_CNN_TRAIN_KEYS),
    shell:
        "neta hiragana train-bn-cnn --etl {input.h5:q} --out {output.model:q}"
        " --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"


rule synthetic_etl_heldout:
    output:
        etl_dir=directory(hiragana_path("etl_heldout_styles")),
    log:
        log_path("synthetic_etl_heldout"),
    benchmark:
        benchmark_path("synthetic_etl_heldout")
    priority: 1
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2048),
        runtime=runtime(
            work_minutes(config["hiragana"]["synth"]["heldout_writers"], 1.5)
        ),
    params:
        **code_params("neta.commands.etl:cmd_etl_synth"),
        settings=settings(etl_commands.SYNTH_KEYS),
    message:
        "Writing SYNTHETIC ETL8G files of held-out style families (never in training)"
    shell:
        "neta etl synth --format ETL8G --heldout-styles --out {output.etl_dir:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule convert_etl_heldout:
    input:
        etl_dir=rules.synthetic_etl_heldout.output.etl_dir,
    output:
        h5=hiragana_path("etl_heldout_styles_28.h5"),
    log:
        log_path("convert_etl_heldout"),
    benchmark:
        benchmark_path("convert_etl_heldout")
    priority: 1
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1024),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.etl:cmd_etl_convert"),
        settings=settings(etl_commands.CONVERT_KEYS),
    shell:
        "neta etl convert --format ETL8G --input {input.etl_dir:q} --out {output.h5:q}"
        " --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"


rule convert_etl_heldout_bn_cnn:
    input:
        etl_dir=rules.synthetic_etl_heldout.output.etl_dir,
    output:
        h5=hiragana_path("etl_heldout_styles_bn_cnn.h5"),
    log:
        log_path("convert_etl_heldout_bn_cnn"),
    benchmark:
        benchmark_path("convert_etl_heldout_bn_cnn")
    priority: 1
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1024),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.etl:cmd_etl_convert_bn_cnn"),
        settings=settings(etl_commands.CONVERT_BN_CNN_KEYS),
    shell:
        "neta etl convert-bn-cnn --format ETL8G --input {input.etl_dir:q} --out {output.h5:q}"
        " --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"


rule relayout_hiragana_tests:
    input:
        etl_dir=etl_input_dir,
        h5=rules.convert_etl.output.h5,
    output:
        layouts=directory(hiragana_path("layouts_test")),
    log:
        log_path("relayout_hiragana_tests"),
    benchmark:
        benchmark_path("relayout_hiragana_tests")
    priority: 1
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1024),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.etl:cmd_etl_relayout"),
        format=etl_format(),
    message:
        "Writing the test writers again as ETL8G and ETL8B2 records and as pictures"
    shell:
        "neta etl relayout --format {params.format:q} --input {input.etl_dir:q}"
        " --writers-of {input.h5:q} --split test --out {output.layouts:q} > {log:q} 2>&1"


rule relayout_hiragana_heldout:
    input:
        etl_dir=rules.synthetic_etl_heldout.output.etl_dir,
    output:
        layouts=directory(hiragana_path("layouts_heldout_styles")),
    log:
        log_path("relayout_hiragana_heldout"),
    benchmark:
        benchmark_path("relayout_hiragana_heldout")
    priority: 1
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1024),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.etl:cmd_etl_relayout"),
    message:
        "Writing the held-out-style writers again as ETL8G and ETL8B2 records and as pictures"
    shell:
        "neta etl relayout --format ETL8G --input {input.etl_dir:q}"
        " --out {output.layouts:q} > {log:q} 2>&1"


rule evaluate_hiragana:
    input:
        unpack(bn_cnn_inputs),
        model=rules.train_hiragana.output.model,
        h5=rules.convert_etl.output.h5,
        heldout_h5=rules.convert_etl_heldout.output.h5,
        test_layouts=rules.relayout_hiragana_tests.output.layouts,
        heldout_layouts=rules.relayout_hiragana_heldout.output.layouts,
    output:
        metrics=hiragana_path("metrics.json"),
        confusion=report(
            hiragana_path("confusion.png"),
            caption="../report/hiragana_confusion.rst",
            category="Hiragana",
            subcategory="Evaluation",
            labels={"figure": "confusion matrix"},
        ),
        filters=report(
            hiragana_path("filters.png"),
            caption="../report/hiragana_filters.rst",
            category="Hiragana",
            subcategory="Model",
            labels={"figure": "first-layer filters"},
        ),
        errors=report(
            hiragana_path("errors.png"),
            caption="../report/hiragana_errors.rst",
            category="Hiragana",
            subcategory="Evaluation",
            labels={"figure": "misclassified samples"},
        ),
    log:
        log_path("evaluate_hiragana"),
    benchmark:
        benchmark_path("evaluate_hiragana")
    priority: 1
    conda:
        "../../envs/neta.yaml"
    threads: 1
    # two worker processes forked from one holding torch: 1.7 GB of RSS measured in the default run
    resources:
        mem_mb=mem_mb(3072),
        runtime=runtime(15),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.hiragana:cmd_hiragana_report"),
        settings=settings(hiragana_commands.REPORT_KEYS),
        bn_cnn=bn_cnn_options,
    shell:
        "neta hiragana report --model {input.model:q} {params.bn_cnn:q} --etl {input.h5:q}"
        " --metrics {output.metrics:q} --confusion {output.confusion:q}"
        " --filters {output.filters:q} --errors {output.errors:q}"
        " --heldout-etl {input.heldout_h5:q} --layouts test {input.test_layouts:q}"
        " --layouts heldout_style {input.heldout_layouts:q}"
        " --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"
