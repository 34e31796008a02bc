# hiragana: [synthetic_etl] → convert_etl → train_hiragana → evaluate_hiragana


rule synthetic_etl:
    input:
        code=stage_code("synthetic_etl"),
    output:
        etl_dir=directory(hiragana_path("etl_synthetic")),
    log:
        log_path("synthetic_etl"),
    benchmark:
        benchmark_path("synthetic_etl")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    params:
        writers=config["hiragana"]["synth"]["writers"],
        seed=config["seed"],
    message:
        "Writing SYNTHETIC format-exact ETL8G files (stand-in for the registration-only database)"
    shell:
        "python -m neta etl synth --format ETL8G --out {output.etl_dir}"
        " --writers {params.writers} --seed {params.seed} > {log} 2>&1"


rule convert_etl:
    input:
        etl_dir=etl_input_dir,
        code=stage_code("convert_etl"),
    output:
        h5=hiragana_path("etl_28.h5"),
    log:
        log_path("convert_etl"),
    benchmark:
        benchmark_path("convert_etl")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    params:
        format=etl_format(),
        size=config["hiragana"]["size"],
        classes=config["hiragana"]["classes"],
        test_fraction=config["hiragana"]["split"]["test_fraction"],
        seed=config["seed"],
    shell:
        "python -m neta etl convert --format {params.format} --input {input.etl_dir}"
        " --out {output.h5} --size {params.size} --classes {params.classes}"
        " --test-fraction {params.test_fraction} --seed {params.seed} > {log} 2>&1"


rule train_hiragana:
    input:
        h5=hiragana_path("etl_28.h5"),
        code=stage_code("train_hiragana"),
    output:
        model=hiragana_path("model.pt"),
    log:
        log_path("train_hiragana"),
    benchmark:
        benchmark_path("train_hiragana")
    conda:
        "../../envs/neta.yaml"
    threads: 2
    resources:
        gpu=1,
    params:
        steps=config["hiragana"]["train"]["steps"],
        batch_size=config["hiragana"]["train"]["batch_size"],
        lr_schedule=schedule_arg(config["hiragana"]["train"]["lr_schedule"]),
        keep_prob_schedule=schedule_arg(
            config["hiragana"]["train"]["keep_prob_schedule"]
        ),
        init_std=config["hiragana"]["train"]["init_std"],
        bias_init=config["hiragana"]["train"]["bias_init"],
        baseline_steps=config["hiragana"]["baseline"]["steps"],
        baseline_lr=config["hiragana"]["baseline"]["lr"],
        baseline_batch_size=config["hiragana"]["baseline"]["batch_size"],
        seed=config["seed"],
        device=config["device"],
    shell:
        "python -m neta hiragana train --etl {input.h5} --out {output.model}"
        " --steps {params.steps} --batch-size {params.batch_size}"
        " --lr-schedule {params.lr_schedule} --keep-prob-schedule {params.keep_prob_schedule}"
        " --init-std {params.init_std} --bias-init {params.bias_init}"
        " --baseline-steps {params.baseline_steps} --baseline-lr {params.baseline_lr}"
        " --baseline-batch-size {params.baseline_batch_size}"
        " --seed {params.seed} --device {params.device} --threads {threads} > {log} 2>&1"


rule evaluate_hiragana:
    input:
        model=hiragana_path("model.pt"),
        h5=hiragana_path("etl_28.h5"),
        code=stage_code("evaluate_hiragana"),
    output:
        metrics=hiragana_path("metrics.json"),
        confusion=report(
            hiragana_path("confusion.png"),
            caption="../report/hiragana_confusion.rst",
            category="hiragana",
        ),
        filters=report(
            hiragana_path("filters.png"),
            caption="../report/hiragana_filters.rst",
            category="hiragana",
        ),
        errors=report(
            hiragana_path("errors.png"),
            caption="../report/hiragana_errors.rst",
            category="hiragana",
        ),
    log:
        log_path("evaluate_hiragana"),
    benchmark:
        benchmark_path("evaluate_hiragana")
    conda:
        "../../envs/neta.yaml"
    threads: 2
    resources:
        gpu=1,
    params:
        device=config["device"],
    shell:
        "python -m neta hiragana evaluate --model {input.model} --etl {input.h5}"
        " --metrics {output.metrics} --confusion {output.confusion}"
        " --filters {output.filters} --errors {output.errors}"
        " --device {params.device} --threads {threads} > {log} 2>&1"
