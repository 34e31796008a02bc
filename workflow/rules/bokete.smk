# bokete: [bokete_snapshot] → scrape_bokete → download_bokete_images

from neta.commands import bokete as bokete_commands


rule bokete_snapshot:
    output:
        site=directory(bokete_path("snapshot")),
    log:
        log_path("bokete_snapshot"),
    benchmark:
        benchmark_path("bokete_snapshot")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
        runtime=runtime(10),
    params:
        **code_params(
            "neta.commands.bokete:cmd_snapshot_bokete",
            data=["boke/snapshot/data/bokete.yaml"],
        ),
        settings=settings(bokete_commands.SNAPSHOT_KEYS),
    message:
        "Building the OFFLINE SNAPSHOT of bokete (stand-in for the live site)"
    shell:
        "neta snapshot bokete --out {output.site:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule scrape_bokete:
    input:
        snapshot=bokete_snapshot_input,
    output:
        csv=LAYOUT.bokes,
    log:
        log_path("scrape_bokete"),
    benchmark:
        benchmark_path("scrape_bokete")
    localrule: True
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
    params:
        **code_params("neta.commands.bokete:cmd_scrape_bokete"),
        speed=speed_settings(bokete_commands.SCRAPE_KEYS),
        cache=cache_path("bokete"),
        settings=settings(bokete_commands.SCRAPE_KEYS),
    shell:
        "neta scrape bokete --snapshot={input.snapshot:q} --out {output.csv:q}"
        " --cache {params.cache:q} --settings {params.settings:q} --speed-settings {params.speed:q} > {log:q} 2>&1"


rule download_bokete_images:
    input:
        csv=rules.scrape_bokete.output.csv,
        snapshot=bokete_snapshot_input,
    output:
        images=directory(bokete_path("images")),
        manifest=LAYOUT.bokete_manifest,
    log:
        log_path("download_bokete_images"),
    benchmark:
        benchmark_path("download_bokete_images")
    localrule: True
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
    params:
        **code_params("neta.commands.bokete:cmd_download_bokete"),
        speed=speed_settings(bokete_commands.DOWNLOAD_KEYS),
        cache=cache_path("bokete"),
        settings=settings(bokete_commands.DOWNLOAD_KEYS),
    shell:
        "neta download bokete --snapshot={input.snapshot:q} --bokes {input.csv:q}"
        " --manifest {output.manifest:q} --cache {params.cache:q}"
        " --settings {params.settings:q} --speed-settings {params.speed:q} > {log:q} 2>&1"
