from snakemake.utils import min_version, validate

min_version("9.27")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/hiragana.smk"
include: "workflow/rules/bokete.smk"


rule all:
    default_target: True
    input:
        hiragana_outputs(),
        bokete_outputs(),
