# bokete: [bokete_snapshot] → scrape_bokete → download_bokete_images


rule bokete_snapshot:
    input:
        code=stage_code("bokete_snapshot"),
    output:
        site=directory(bokete_path("snapshot")),
    log:
        log_path("bokete_snapshot"),
    benchmark:
        benchmark_path("bokete_snapshot")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    params:
        seed=config["seed"],
    message:
        "Building the OFFLINE SNAPSHOT of bokete (stand-in for the live site)"
    shell:
        "python -m neta snapshot bokete --out {output.site} --seed {params.seed} > {log} 2>&1"


rule scrape_bokete:
    input:
        snapshot=bokete_snapshot_input,
        code=stage_code("scrape_bokete"),
    output:
        csv=bokete_path("bokes.csv"),
    log:
        log_path("scrape_bokete"),
    benchmark:
        benchmark_path("scrape_bokete")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    params:
        site=bokete_site_arg(),
        start=repeated_arg("--start", config["bokete"]["start_paths"]),
        allow=repeated_arg("--allow-host", config["bokete"]["allowed_hosts"]),
        max_pages=config["bokete"]["max_pages"],
        max_bokes=config["bokete"]["max_bokes"],
        min_stars=config["bokete"]["min_stars"],
        rate_limit=config["bokete"]["rate_limit"],
        loopback_rate_limit=config["bokete"]["loopback_rate_limit"],
        contact=config["bokete"]["contact"],
        max_failure_ratio=config["bokete"]["max_failure_ratio"],
        cache=cache_path("bokete"),
    shell:
        "python -m neta scrape bokete {params.site} {params.start} {params.allow}"
        " --out {output.csv} --cache {params.cache} --max-pages {params.max_pages}"
        " --max-bokes {params.max_bokes} --min-stars {params.min_stars}"
        " --rate-limit {params.rate_limit} --loopback-rate-limit {params.loopback_rate_limit}"
        " --contact '{params.contact}' --max-failure-ratio {params.max_failure_ratio}"
        " > {log} 2>&1"


rule download_bokete_images:
    input:
        csv=bokete_path("bokes.csv"),
        snapshot=bokete_snapshot_input,
        code=stage_code("download_bokete_images"),
    output:
        manifest=bokete_path("images/manifest.csv"),
    log:
        log_path("download_bokete_images"),
    benchmark:
        benchmark_path("download_bokete_images")
    conda:
        "../../envs/neta.yaml"
    threads: 2
    params:
        site=bokete_site_arg(),
        allow=repeated_arg("--allow-host", config["bokete"]["allowed_hosts"]),
        workers=config["bokete"]["download"]["workers"],
        max_bytes=config["bokete"]["download"]["max_bytes"],
        rate_limit=config["bokete"]["rate_limit"],
        loopback_rate_limit=config["bokete"]["loopback_rate_limit"],
        contact=config["bokete"]["contact"],
        max_failure_ratio=config["bokete"]["max_failure_ratio"],
        cache=cache_path("bokete"),
    shell:
        "python -m neta download bokete {params.site} {params.allow} --bokes {input.csv}"
        " --manifest {output.manifest} --cache {params.cache} --workers {params.workers}"
        " --max-bytes {params.max_bytes} --rate-limit {params.rate_limit}"
        " --loopback-rate-limit {params.loopback_rate_limit} --contact '{params.contact}'"
        " --max-failure-ratio {params.max_failure_ratio} > {log} 2>&1"
