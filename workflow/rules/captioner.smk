# captioner: prepare_captions (bokete) | prepare_caption_dataset → extract_caption_features (cans, COCO,
# Karpathy, Oogiri-GO) → train_captioner → evaluate_captioner
from neta.commands import captioner as captioner_commands, features as features_commands


rule prepare_captions:
    input:
        bokes=rules.scrape_bokete.output.csv,
        manifest=rules.download_bokete_images.output.manifest,
    output:
        captions=LAYOUT.bokete("captions.csv"),
    log:
        log_path("prepare_captions"),
    benchmark:
        benchmark_path("prepare_captions")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.captioner:cmd_captioner_prepare"),
        settings=settings(captioner_commands.PREPARE_KEYS),
    shell:
        "neta captioner prepare --bokes {input.bokes:q} --images-manifest {input.manifest:q}"
        " --out {output.captions:q} --settings {params.settings:q} > {log:q} 2>&1"


rule prepare_caption_dataset:
    input:
        sources=caption_dataset_sources,
    output:
        captions=external_caption_path("captions.csv"),
        manifest=external_caption_path("images/manifest.csv"),
    log:
        log_path("prepare_caption_dataset"),
    benchmark:
        benchmark_path("prepare_caption_dataset")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1024),
        runtime=runtime(30),
    params:
        **code_params("neta.commands.captioner:cmd_captioner_prepare"),
        settings=settings(captioner_commands.PREPARE_KEYS),
    shell:
        "neta captioner prepare --out {output.captions:q} --manifest-out {output.manifest:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule extract_caption_features:
    input:
        manifest=rules.prepare_caption_dataset.output.manifest,
    output:
        h5=external_caption_path("features.h5"),
    log:
        log_path("extract_caption_features"),
    benchmark:
        benchmark_path("extract_caption_features")
    conda:
        "../../envs/neta.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb(2048),
        runtime=runtime(60),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.features:cmd_features"),
        speed=speed_settings(features_commands.EXTRACT_KEYS),
        onnx_dir=onnx_cache_dir(),
        settings=settings(features_commands.EXTRACT_KEYS),
    shell:
        "neta features --images {input.manifest:q} --out {output.h5:q}"
        " --onnx-dir {params.onnx_dir:q} --threads {threads} --settings {params.settings:q} --speed-settings {params.speed:q} > {log:q} 2>&1"


rule train_captioner:
    input:
        captions=caption_table,
        features=caption_features,
    output:
        model=LAYOUT.captioner,
        vocab=LAYOUT.vocabulary,
        log_csv=caption_path("train_log.csv"),
        loss_png=report(
            caption_path("loss.png"),
            caption="../report/boke_loss.rst",
            category="Boke",
            subcategory="Training",
            labels={"figure": "loss curve"},
        ),
    log:
        log_path("train_captioner"),
    benchmark:
        benchmark_path("train_captioner")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2048),
        runtime=runtime(60),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.captioner:cmd_captioner_train"),
        settings=settings(captioner_commands.TRAIN_KEYS),
    shell:
        "neta captioner train --captions {input.captions:q} --features {input.features:q}"
        " --model {output.model:q} --vocab {output.vocab:q} --log-csv {output.log_csv:q}"
        " --loss-png {output.loss_png:q} --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"


rule evaluate_captioner:
    input:
        model=rules.train_captioner.output.model,
        captions=caption_table,
        features=caption_features,
    output:
        metrics=caption_path("metrics.json"),
        samples=caption_path("samples.json"),
        gallery=caption_path("gallery.html"),
    log:
        log_path("evaluate_captioner"),
    benchmark:
        benchmark_path("evaluate_captioner")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1536),
        runtime=runtime(30),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.captioner:cmd_captioner_evaluate"),
        settings=settings(captioner_commands.EVALUATE_KEYS),
    shell:
        "neta captioner evaluate --model {input.model:q} --captions {input.captions:q}"
        " --features {input.features:q} --metrics {output.metrics:q} --samples {output.samples:q}"
        " --gallery {output.gallery:q} --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"
