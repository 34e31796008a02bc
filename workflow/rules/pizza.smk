# pizza: [dodo_snapshot] → scrape_dodo → encode_recipes, download_dodo_images → augment_pizza
from neta.commands import dodo as dodo_commands, pizza as pizza_commands


rule dodo_snapshot:
    output:
        site=directory(pizza_path("snapshot")),
    log:
        log_path("dodo_snapshot"),
    benchmark:
        benchmark_path("dodo_snapshot")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
        runtime=runtime(10),
    params:
        **code_params(
            "neta.commands.dodo:cmd_snapshot_dodo",
            data=["pizza/snapshot/data/dodo_kaliningrad_2017.csv"],
        ),
        settings=settings(dodo_commands.SNAPSHOT_KEYS),
    message:
        "Building the OFFLINE SNAPSHOT of Dodo Pizza (stand-in for the live site; photos rendered)"
    shell:
        "neta snapshot dodo --out {output.site:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule scrape_dodo:
    input:
        snapshot=dodo_snapshot_input,
    output:
        csv=LAYOUT.menu,
    log:
        log_path("scrape_dodo"),
    benchmark:
        benchmark_path("scrape_dodo")
    localrule: True
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
    params:
        **code_params("neta.commands.dodo:cmd_scrape_dodo"),
        speed=speed_settings(dodo_commands.SCRAPE_KEYS),
        cache=cache_path("dodo"),
        settings=settings(dodo_commands.SCRAPE_KEYS),
    shell:
        "neta scrape dodo --snapshot={input.snapshot:q} --out {output.csv:q}"
        " --cache {params.cache:q} --settings {params.settings:q} --speed-settings {params.speed:q} > {log:q} 2>&1"


rule encode_recipes:
    input:
        menu=rules.scrape_dodo.output.csv,
    output:
        recipes=LAYOUT.recipes,
    log:
        log_path("encode_recipes"),
    benchmark:
        benchmark_path("encode_recipes")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
        runtime=runtime(10),
    params:
        **code_params("neta.commands.pizza:cmd_pizza_recipes"),
        settings=settings(pizza_commands.RECIPES_KEYS),
    shell:
        "neta pizza recipes --menu {input.menu:q} --out {output.recipes:q}"
        " --settings {params.settings:q} > {log:q} 2>&1"


# priority 3 (download, augment): see hiragana.smk; threads 1: reading the snapshot keeps no core busy
rule download_dodo_images:
    input:
        menu=rules.scrape_dodo.output.csv,
        snapshot=dodo_snapshot_input,
    output:
        images=directory(pizza_path("images")),
        manifest=LAYOUT.pizza_manifest,
    log:
        log_path("download_dodo_images"),
    benchmark:
        benchmark_path("download_dodo_images")
    priority: 3
    localrule: True
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(512),
    params:
        **code_params("neta.commands.dodo:cmd_download_dodo"),
        speed=speed_settings(dodo_commands.DOWNLOAD_KEYS),
        cache=cache_path("dodo"),
        settings=settings(dodo_commands.DOWNLOAD_KEYS),
    shell:
        "neta download dodo --snapshot={input.snapshot:q} --menu {input.menu:q}"
        " --manifest {output.manifest:q} --cache {params.cache:q}"
        " --settings {params.settings:q} --speed-settings {params.speed:q} > {log:q} 2>&1"


rule augment_pizza:
    input:
        menu=rules.scrape_dodo.output.csv,
        manifest=rules.download_dodo_images.output.manifest,
        recipes=rules.encode_recipes.output.recipes,
    output:
        h5=pizza_path("augmented.h5"),
    log:
        log_path("augment_pizza"),
    benchmark:
        benchmark_path("augment_pizza")
    priority: 3
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1536),
        runtime=runtime(15),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.pizza:cmd_pizza_augment"),
        settings=settings(pizza_commands.AUGMENT_KEYS),
    shell:
        "neta pizza augment --menu {input.menu:q} --manifest {input.manifest:q}"
        " --recipes {input.recipes:q} --out {output.h5:q} --threads {threads}"
        " --settings {params.settings:q} > {log:q} 2>&1"


# The generators: train_cvae (variants a, b) | train_cvae_original | train_gan | train_cvae_gan, judged
# by one classifier. One thread a training job: two run side by side on 2 cores; two 2-thread jobs
# sharing the cores each ran ~4x slower than alone (their threads waiting on each other). The longest
# jobs (CVAE-GAN, then the CVAEs) have priority, so the short ones fill in at the end; the GAN too: the
# pizza report (~45 s) waits for it, and started last, alone, with one core idle (10 min 16 s).
rule train_cvae:
    input:
        h5=rules.augment_pizza.output.h5,
        recipes=rules.encode_recipes.output.recipes,
    output:
        model=cvae_path("{variant}", ".pt"),
        log_csv=cvae_path("{variant}", "_log.csv"),
        loss_png=report(
            cvae_path("{variant}", "_loss.png"),
            caption="../report/pizza_loss.rst",
            category="Pizza",
            subcategory="Loss curves",
            labels={"model": "cvae_{variant}"},
        ),
        progress=report(
            cvae_path("{variant}", "_progress.gif"),
            caption="../report/pizza_progress.rst",
            category="Pizza",
            subcategory="Training progress",
            labels={"model": "cvae_{variant}"},
        ),
    log:
        log_path("train_cvae/{variant}"),
    benchmark:
        benchmark_path("train_cvae/{variant}")
    wildcard_constraints:
        variant="a|b",
    priority: 1
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2048),
        runtime=runtime(work_minutes(config["pizza"]["models"]["cvae"]["epochs"], 40)),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.pizza:cmd_pizza_train"),
        settings=settings(pizza_commands.TRAIN_KEYS["cvae"]),
    shell:
        "neta pizza train-cvae --variant {wildcards.variant} --augmented {input.h5:q}"
        " --recipes {input.recipes:q} --out {output.model:q} --log-csv {output.log_csv:q}"
        " --loss-png {output.loss_png:q} --progress {output.progress:q} --threads {threads}"
        " --settings {params.settings:q} > {log:q} 2>&1"


rule train_cvae_original:
    input:
        h5=rules.augment_pizza.output.h5,
        recipes=rules.encode_recipes.output.recipes,
    output:
        model=generator_path("cvae_original", ".pt"),
        log_csv=generator_path("cvae_original", "_log.csv"),
        loss_png=report(
            generator_path("cvae_original", "_loss.png"),
            caption="../report/pizza_loss.rst",
            category="Pizza",
            subcategory="Loss curves",
            labels={"model": "cvae_original"},
        ),
        progress=report(
            generator_path("cvae_original", "_progress.gif"),
            caption="../report/pizza_progress.rst",
            category="Pizza",
            subcategory="Training progress",
            labels={"model": "cvae_original"},
        ),
    log:
        log_path("train_cvae_original"),
    benchmark:
        benchmark_path("train_cvae_original")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2048),
        runtime=runtime(
            work_minutes(config["pizza"]["models"]["cvae_original"]["epochs"], 40)
        ),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.pizza:cmd_pizza_train"),
        settings=settings(pizza_commands.TRAIN_KEYS["cvae_original"]),
    shell:
        "neta pizza train-cvae-original --augmented {input.h5:q} --recipes {input.recipes:q}"
        " --out {output.model:q} --log-csv {output.log_csv:q} --loss-png {output.loss_png:q}"
        " --progress {output.progress:q} --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"


rule train_gan:
    input:
        h5=rules.augment_pizza.output.h5,
        recipes=rules.encode_recipes.output.recipes,
    output:
        model=generator_path("gan", ".pt"),
        log_csv=generator_path("gan", "_log.csv"),
        loss_png=report(
            generator_path("gan", "_loss.png"),
            caption="../report/pizza_loss.rst",
            category="Pizza",
            subcategory="Loss curves",
            labels={"model": "gan"},
        ),
        progress=report(
            generator_path("gan", "_progress.gif"),
            caption="../report/pizza_progress.rst",
            category="Pizza",
            subcategory="Training progress",
            labels={"model": "gan"},
        ),
    log:
        log_path("train_gan"),
    benchmark:
        benchmark_path("train_gan")
    priority: 1
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2048),
        runtime=runtime(
            work_minutes(
                config["pizza"]["models"]["gan"]["epochs"],
                gan_epoch_seconds(config["pizza"]["models"]["gan_width"]),
            )
        ),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.pizza:cmd_pizza_train"),
        settings=settings(pizza_commands.TRAIN_KEYS["gan"]),
    shell:
        "neta pizza train-gan --augmented {input.h5:q} --recipes {input.recipes:q}"
        " --out {output.model:q} --log-csv {output.log_csv:q} --loss-png {output.loss_png:q}"
        " --progress {output.progress:q} --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"


rule train_cvae_gan:
    input:
        h5=rules.augment_pizza.output.h5,
        recipes=rules.encode_recipes.output.recipes,
    output:
        model=generator_path("cvae_gan", ".pt"),
        log_csv=generator_path("cvae_gan", "_log.csv"),
        loss_png=report(
            generator_path("cvae_gan", "_loss.png"),
            caption="../report/pizza_loss.rst",
            category="Pizza",
            subcategory="Loss curves",
            labels={"model": "cvae_gan"},
        ),
        progress=report(
            generator_path("cvae_gan", "_progress.gif"),
            caption="../report/pizza_progress.rst",
            category="Pizza",
            subcategory="Training progress",
            labels={"model": "cvae_gan"},
        ),
    log:
        log_path("train_cvae_gan"),
    benchmark:
        benchmark_path("train_cvae_gan")
    priority: 2
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2048),
        runtime=runtime(
            work_minutes(
                config["pizza"]["models"]["cvae_gan"]["epochs"],
                20
                + gan_epoch_seconds(config["pizza"]["models"]["discriminator_width"]),
            )
        ),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.pizza:cmd_pizza_train"),
        settings=settings(pizza_commands.TRAIN_KEYS["cvae_gan"]),
    shell:
        "neta pizza train-cvae-gan --augmented {input.h5:q} --recipes {input.recipes:q}"
        " --out {output.model:q} --log-csv {output.log_csv:q} --loss-png {output.loss_png:q}"
        " --progress {output.progress:q} --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"


rule train_ingredient_classifier:
    input:
        h5=rules.augment_pizza.output.h5,
    output:
        model=pizza_path("classifier.pt"),
    log:
        log_path("train_ingredient_classifier"),
    benchmark:
        benchmark_path("train_ingredient_classifier")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2048),
        runtime=runtime(
            work_minutes(config["pizza"]["models"]["classifier"]["epochs"], 20)
        ),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.pizza:cmd_pizza_classifier"),
        settings=settings(pizza_commands.CLASSIFIER_KEYS),
    shell:
        "neta pizza classifier --augmented {input.h5:q} --out {output.model:q}"
        " --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"


rule evaluate_pizza:
    input:
        **{kind.name: generator_path(kind.name, ".pt") for kind in GENERATOR_KINDS},
        h5=rules.augment_pizza.output.h5,
        recipes=rules.encode_recipes.output.recipes,
        classifier=rules.train_ingredient_classifier.output.model,
    output:
        metrics=pizza_path("metrics.json"),
        # one caption a grid: report() of the expand() list would give all four the same one
        grids=[
            report(
                pizza_path(f"samples/{grid}.png"),
                caption=f"../report/pizza_{grid}.rst",
                category="Pizza",
                subcategory="Samples",
                labels={"figure": grid.replace("_", " ")},
            )
            for grid in [
                "reconstructions",
                "style_transfer",
                "one_ingredient",
                "gan_samples",
            ]
        ],
    log:
        log_path("evaluate_pizza"),
    benchmark:
        benchmark_path("evaluate_pizza")
    conda:
        "../../envs/neta.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2304),  # 1.65 GB under Slurm's cgroup with one thread (1.5 GB was killed)
        runtime=runtime(15),
        gpu=gpu_request(),
    params:
        **code_params("neta.commands.pizza:cmd_pizza_evaluate"),
        samples=lambda wildcards, output: str(Path(output.grids[0]).parent),
        models=lambda wildcards, input: quoted_pairs(
            (kind.name, input[kind.name]) for kind in GENERATOR_KINDS
        ),
        settings=settings(pizza_commands.EVALUATE_KEYS),
    shell:
        "neta pizza evaluate --augmented {input.h5:q} --recipes {input.recipes:q}"
        " --models {params.models} --classifier {input.classifier:q} --metrics {output.metrics:q}"
        " --samples {params.samples:q} --threads {threads} --settings {params.settings:q} > {log:q} 2>&1"
