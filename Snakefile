from snakemake.utils import min_version

min_version("9.27")


configfile: "config.yaml"


# common.smk validates the config against workflow/schemas/config.schema.yaml (one line a bad key).
include: "workflow/rules/common.smk"
include: "workflow/rules/hiragana.smk"
include: "workflow/rules/bokete.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/pizza.smk"
include: "workflow/rules/captioner.smk"
include: "workflow/rules/report.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        all_outputs(),
