# features: download_bokete_images → extract_features (one job a shard) → merge_features
from neta.commands import features as features_commands


rule extract_features:
    input:
        manifest=rules.download_bokete_images.output.manifest,
        images=rules.download_bokete_images.output.images,
    output:
        shard=temp(feature_shard_path("{shard}")),
    log:
        log_path("extract_features/{shard}"),
    benchmark:
        benchmark_path("extract_features/{shard}")
    wildcard_constraints:
        shard=r"\d+",
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2048),
        runtime=runtime(30),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.features:cmd_features"),
        speed=speed_settings(features_commands.EXTRACT_KEYS),
        onnx_dir=onnx_cache_dir(),
        settings=settings(features_commands.EXTRACT_KEYS),
    shell:
        "neta features --images {input.manifest:q} --out {output.shard:q}"
        " --shard {wildcards.shard} --onnx-dir {params.onnx_dir:q} --threads {threads}"
        " --settings {params.settings:q} --speed-settings {params.speed:q} > {log:q} 2>&1"


rule merge_features:
    input:
        shards=feature_shards,
    output:
        h5=bokete_path("features.h5"),
    log:
        log_path("merge_features"),
    benchmark:
        benchmark_path("merge_features")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1536),
        runtime=runtime(15),
    params:
        **code_params("neta.commands.features:cmd_features"),
    shell:
        "neta features --merge {input.shards:q} --out {output.h5:q} > {log:q} 2>&1"
