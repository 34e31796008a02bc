# pizza: [dodo_snapshot] → scrape_dodo → encode_recipes, download_dodo_images → augment_pizza
from neta.commands import dodo as dodo_commands, pizza as pizza_commands


rule dodo_snapshot:
    input:
        code=stage_code(
            "neta.commands.dodo:cmd_snapshot_dodo",
            data=["snapshot/data/dodo_kaliningrad_2017.csv"],
        ),
    output:
        site=directory(pizza_path("snapshot")),
    log:
        log_path("dodo_snapshot"),
    benchmark:
        benchmark_path("dodo_snapshot")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    params:
        settings=settings(dodo_commands.SNAPSHOT_KEYS),
    message:
        "Building the OFFLINE SNAPSHOT of Dodo Pizza (stand-in for the live site; photos rendered)"
    shell:
        "python -m neta snapshot dodo --out {output.site:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule scrape_dodo:
    input:
        snapshot=dodo_snapshot_input,
        code=stage_code("neta.commands.dodo:cmd_scrape_dodo"),
    output:
        csv=pizza_path("menu.csv"),
    log:
        log_path("scrape_dodo"),
    benchmark:
        benchmark_path("scrape_dodo")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    params:
        cache=cache_path("dodo"),
        settings=settings(dodo_commands.SCRAPE_KEYS),
    shell:
        "python -m neta scrape dodo --snapshot={input.snapshot:q} --out {output.csv:q}"
        " --cache {params.cache:q} --settings {params.settings:q} > {log:q} 2>&1"


rule encode_recipes:
    input:
        menu=rules.scrape_dodo.output.csv,
        code=stage_code("neta.commands.pizza:cmd_pizza_recipes"),
    output:
        recipes=pizza_path("recipes.json"),
    log:
        log_path("encode_recipes"),
    benchmark:
        benchmark_path("encode_recipes")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    params:
        settings=settings(pizza_commands.RECIPES_KEYS),
    shell:
        "python -m neta pizza recipes --menu {input.menu:q} --out {output.recipes:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule download_dodo_images:
    input:
        menu=rules.scrape_dodo.output.csv,
        snapshot=dodo_snapshot_input,
        code=stage_code("neta.commands.dodo:cmd_download_dodo"),
    output:
        images=directory(pizza_path("images")),
        manifest=pizza_path("images/manifest.csv"),
    log:
        log_path("download_dodo_images"),
    benchmark:
        benchmark_path("download_dodo_images")
    conda:
        "../../envs/neta.yaml"
    threads: 2
    params:
        cache=cache_path("dodo"),
        settings=settings(dodo_commands.DOWNLOAD_KEYS),
    shell:
        "python -m neta download dodo --snapshot={input.snapshot:q} --menu {input.menu:q}"
        " --manifest {output.manifest:q} --cache {params.cache:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule augment_pizza:
    input:
        menu=rules.scrape_dodo.output.csv,
        manifest=rules.download_dodo_images.output.manifest,
        recipes=rules.encode_recipes.output.recipes,
        code=stage_code("neta.commands.pizza:cmd_pizza_augment"),
    output:
        h5=pizza_path("augmented.h5"),
    log:
        log_path("augment_pizza"),
    benchmark:
        benchmark_path("augment_pizza")
    conda:
        "../../envs/neta.yaml"
    threads: 2
    resources:
        gpu=1,
    params:
        settings=settings(pizza_commands.AUGMENT_KEYS),
    shell:
        "python -m neta pizza augment --menu {input.menu:q} --manifest {input.manifest:q}"
        " --recipes {input.recipes:q} --out {output.h5:q} --threads {threads}"
        " --settings {params.settings:q} > {log:q} 2>&1"
