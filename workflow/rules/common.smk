# Config validation, the jobs' shell prefix, path helpers, input functions and code params from
# the import graph; nothing else.
import json
import shlex
import shutil
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod

SRC = Path(workflow.basedir) / "src"
# The rules run the checkout they belong to, not whichever neta is installed.
sys.path[:0] = [str(SRC), str(Path(workflow.basedir) / "workflow" / "lib")]

from code_inputs import ImportGraph
from neta.errors import NetaError
from neta.layout import Layout
from neta.pizza.kinds import GENERATOR_KINDS, generator_kind
from neta.settings import split_speed_only, subset, typed_scalars, validate_config

try:
    # --config 'hiragana={train: {steps: 100}}' arrives with '100' a string: typed as the schema says
    config.update(validate_config(typed_scalars(config)))
except NetaError as error:
    raise WorkflowError(str(error)) from None


def braces_escaped(text):
    """`text` as a literal part of a string Snakemake formats (shell.prefix, shell commands)."""
    return text.replace("{", "{{").replace("}", "}}")


# The interpreter of the jobs: the one Snakemake runs in (.venv/bin/snakemake works without
# activating the venv), or the rule's own environment under --software-deployment-method conda.
DEPLOYMENT = getattr(workflow.deployment_settings, "deployment_method", ())
PYTHON = (
    "python" if DeploymentMethod.CONDA in DEPLOYMENT else shlex.quote(sys.executable)
)

# Each rule's command is `neta <area> <verb> ...`: `neta` is this shell function, defined in the
# prefix and not in the rules' commands, so a job is not rerun because the interpreter's path
# differs (Snakemake reruns a rule whose shell command's text changed).
shell.prefix(
    "set -euo pipefail; export PYTHONPATH="
    + braces_escaped(shlex.quote(str(SRC)))
    + "${{PYTHONPATH:+:$PYTHONPATH}}; "
    + braces_escaped(f'neta() {{ {PYTHON} -m neta "$@"; }}; ')
)


CODE_GRAPH = ImportGraph(SRC)


def code_params(handler, data=()):
    """`params` naming each source file `python -m neta` runs for `handler` (module:function), and
    each data file it reads, with the start of the SHA-256 of its content (16 hex digits):
    `params: **code_params(...)`.

    Snakemake reruns a job whose params changed, so editing one of these files reruns the rule and
    what it feeds, and an edit undone (or a bare touch) reruns nothing; the reason of the rerun names
    the file. They are params, not inputs, so that a job's printout is not a list of ~100 source
    files."""
    files = CODE_GRAPH.stage_files([handler], list(data))
    return {
        f"code_{number}": f"{Path(path).relative_to(workflow.basedir)} {CODE_GRAPH.digest(path)[:16]}"
        for number, path in enumerate(files)
    }


def gpu_request():
    """`resources: gpu` of a job that runs on CUDA when it can: 1 where a job may take the card, so the
    profile's gpu limit keeps two jobs off one card; 0 with device cpu or no NVIDIA driver (nvidia-smi)
    on this machine, where that limit would only make CPU jobs wait for each other."""
    device = config["device"]
    if device == "cpu":
        return 0
    if device.startswith("cuda"):
        return 1
    return int(shutil.which("nvidia-smi") is not None)


# What a cluster scheduler is asked for (profiles/slurm): mem_mb is the peak RSS a job had in the
# default run (results/benchmarks/*.tsv, max_rss) plus ~250 MB for the Snakemake process a cluster job
# runs in, with ~1.5x headroom; runtime is minutes. Both double on each retry (Snakemake passes
# `attempt`), so a job the scheduler killed for memory or time is resubmitted with twice the request.
def mem_mb(first_attempt_mb):
    """`resources: mem_mb` growing with the attempt: first_attempt_mb, then 2x, 4x, ..."""
    return lambda wildcards, attempt: first_attempt_mb * 2 ** (attempt - 1)


def runtime(first_attempt_minutes):
    """`resources: runtime` (minutes) growing with the attempt like mem_mb()."""
    return lambda wildcards, attempt: int(first_attempt_minutes) * 2 ** (attempt - 1)


def work_minutes(count, seconds_each, fixed_minutes=10):
    """The runtime of a job of `count` steps, epochs or items of about `seconds_each` each on its
    threads (measured on the 2-core machine), twice over, plus fixed set-up time."""
    return fixed_minutes + -(-2 * count * seconds_each // 60)


def gan_epoch_seconds(width):
    """Seconds an epoch of an adversarial model with a discriminator of filter width `width` takes on
    2 cores: ~50 at width 8 (the default run's DCGAN), growing with the width (an estimate: ~19 min at
    the original's 64, where about half an hour was seen; work_minutes() doubles it)."""
    return 50 * max(1.0, width / 8) ** 1.5


def settings(keys):
    """The config parts a command reads (its *_KEYS) that can change what it writes, as the JSON its
    --settings takes (quote with :q). A tracked param: a change reruns the rule."""
    tracked, _ = split_speed_only(subset(config, keys), keys)
    return json.dumps(tracked, sort_keys=True, ensure_ascii=False)


def speed_settings(keys):
    """The parts of `keys` that change only how fast a command runs (`speed_only` in the config
    schema: download workers, request rates), as the JSON its --speed-settings takes (quote with :q).

    A param function that takes `threads` is, for Snakemake, derived from the job (as one taking
    `input` or `output` is) and stays out of the params it compares to decide a rerun
    (snakemake.persistence, non_derived_params): changing one of these values reruns nothing.
    """
    _, speed = split_speed_only(subset(config, keys), keys)
    text = json.dumps(speed, sort_keys=True, ensure_ascii=False)
    return lambda wildcards, threads: text


# Every path comes from one table, neta.layout (the app and the commands read it too).
LAYOUT = Layout.of(config)
hiragana_path = LAYOUT.hiragana
bokete_path = LAYOUT.bokete
pizza_path = LAYOUT.pizza
report_path = LAYOUT.report
caption_path = LAYOUT.captions
external_caption_path = LAYOUT.external_captions
log_path = LAYOUT.log
benchmark_path = LAYOUT.benchmark
cache_path = LAYOUT.cache
onnx_cache_dir = LAYOUT.onnx_cache


def quoted_pairs(pairs, sep="="):
    """NAME=PATH words (or NAME PATH with sep=" "), each part shell-quoted, for a command line."""
    return " ".join(
        f"{shlex.quote(str(name))}{sep}{shlex.quote(str(path))}" for name, path in pairs
    )


def generator_path(kind, suffix):
    """A file of a pizza generator kind (neta.pizza.kinds): its checkpoint, log, loss plot or progress GIF."""
    return LAYOUT.generator(generator_kind(kind).name, suffix)


def synthetic_etl():
    return not config["hiragana"]["etl_dir"]


def etl_input_dir(wildcards):
    """Real ETL files when hiragana.etl_dir is set, else the synthetic stand-in."""
    if synthetic_etl():
        return rules.synthetic_etl.output.etl_dir
    return config["hiragana"]["etl_dir"]


def etl_format():
    return "ETL8G" if synthetic_etl() else config["hiragana"]["format"]


def bokete_snapshot_input(wildcards):
    """The bundled offline snapshot when no live base_url is configured, else nothing."""
    return [] if config["bokete"]["base_url"] else [rules.bokete_snapshot.output.site]


def dodo_snapshot_input(wildcards):
    """The bundled offline snapshot when no live base_url is configured, else nothing."""
    return [] if config["pizza"]["base_url"] else [rules.dodo_snapshot.output.site]


def feature_shard_path(shard):
    return bokete_path(f"features_shards/{shard}.h5")


def feature_shards(wildcards):
    """One file a shard of the feature extraction, merged by merge_features. Paths, not expand() of
    the rule's output: under a default storage provider (profiles/kubernetes) an output carries a
    storage flag, which expand() refuses."""
    return [feature_shard_path(shard) for shard in range(config["features"]["shards"])]


def cvae_path(variant, suffix):
    """A file of train_cvae for one conditioning (a or b; "{variant}" is the rule's pattern)."""
    return LAYOUT.pizza(f"cvae_{variant}{suffix}")


def caption_dataset_sources(wildcards):
    """The files of the configured caption dataset the prepare step reads (bokete cans, COCO, Karpathy,
    Oogiri-GO)."""
    captioner = config["captioner"]
    dataset = captioner["dataset"]
    if dataset == "bokete_can":
        return [
            path
            for can in captioner["cans"]
            for path in (str(Path(can, "boke.csv")), str(Path(can, "images")))
        ]
    if dataset == "coco":
        return [*captioner["coco"]["annotations"], captioner["coco"]["images"]]
    if dataset == "karpathy":
        return [captioner["karpathy"]["file"], captioner["karpathy"]["images"]]
    if dataset == "oogiri_go":
        return [captioner["oogiri_go"]["file"], captioner["oogiri_go"]["images"]]
    return []


def caption_table(wildcards):
    if LAYOUT.crawled_captions:
        return rules.prepare_captions.output.captions
    return rules.prepare_caption_dataset.output.captions


def caption_features(wildcards):
    if LAYOUT.crawled_captions:
        return rules.merge_features.output.h5
    return rules.extract_caption_features.output.h5


def bn_cnn_inputs(wildcards):
    """evaluate_hiragana's inputs of the batch-normalised CNN, when hiragana.model chooses it: the
    model and its test and held-out records at its own size; nothing for the exact reproduction.
    """
    if config["hiragana"]["model"] != "bn_cnn":
        return {}
    return {
        "bn_cnn": rules.train_hiragana_bn_cnn.output.model,
        "bn_cnn_h5": rules.convert_etl_bn_cnn.output.h5,
        "bn_cnn_heldout_h5": rules.convert_etl_heldout_bn_cnn.output.h5,
    }


def bn_cnn_options(wildcards, input):
    """`neta hiragana report`'s options of the batch-normalised CNN and their paths, or nothing:
    quoted item by item with :q."""
    if "bn_cnn" not in input.keys():
        return []
    return [
        "--bn-cnn-model",
        input.bn_cnn,
        "--bn-cnn-etl",
        input.bn_cnn_h5,
        "--bn-cnn-heldout-etl",
        input.bn_cnn_heldout_h5,
    ]


def ratings_database(wildcards):
    """The judgements of the app's Rate page (written by `neta serve`, not by a rule) when there are
    any: the report's ratings table is made only then."""
    return [LAYOUT.ratings()] if Path(LAYOUT.ratings()).exists() else []


def ratings_log_state(wildcards):
    """Size and time of the ratings database's write-ahead log. Judgements committed while `neta serve`
    runs sit in the log until SQLite checkpoints it into the database file, whose time does not move
    meanwhile; as a param this reruns the ratings table when they arrive. A param, not an input: the
    log vanishes when the app closes the database."""
    try:
        stat = Path(f"{LAYOUT.ratings()}-wal").stat()
    except FileNotFoundError:
        return "no log"
    return f"{stat.st_size} bytes, {stat.st_mtime_ns} ns"


def all_outputs():
    """Every file the workflow makes, intermediates too: delete one and a run rebuilds it and what
    it feeds."""
    hiragana = [
        rules.synthetic_etl_heldout.output.etl_dir,
        rules.convert_etl_heldout.output.h5,
        rules.convert_etl.output.h5,
        rules.relayout_hiragana_tests.output.layouts,
        rules.relayout_hiragana_heldout.output.layouts,
        rules.train_hiragana.output.model,
        *rules.evaluate_hiragana.output,
    ]
    hiragana += list(bn_cnn_inputs(None).values())
    if synthetic_etl():
        hiragana.insert(0, rules.synthetic_etl.output.etl_dir)
    bokete = [
        rules.scrape_bokete.output.csv,
        *rules.download_bokete_images.output,
        rules.merge_features.output.h5,
    ]
    if not config["bokete"]["base_url"]:
        bokete.insert(0, rules.bokete_snapshot.output.site)
    pizza = [
        rules.scrape_dodo.output.csv,
        rules.encode_recipes.output.recipes,
        *rules.download_dodo_images.output,
        rules.augment_pizza.output.h5,
        *(
            cvae_path(variant, suffix)
            for variant in ("a", "b")
            for suffix in (".pt", "_log.csv", "_loss.png", "_progress.gif")
        ),
        *rules.train_cvae_original.output,
        *rules.train_gan.output,
        *rules.train_cvae_gan.output,
        rules.train_ingredient_classifier.output.model,
        *rules.evaluate_pizza.output,
    ]
    if not config["pizza"]["base_url"]:
        pizza.insert(0, rules.dodo_snapshot.output.site)
    captions = [
        *rules.train_captioner.output,
        *rules.evaluate_captioner.output,
    ]
    if LAYOUT.crawled_captions:
        captions.insert(0, rules.prepare_captions.output.captions)
    else:
        captions[:0] = [
            *rules.prepare_caption_dataset.output,
            rules.extract_caption_features.output.h5,
        ]
    report_files = [
        *rules.data_statistics.output,
        *rules.metric_tables.output,
        *rules.report_gallery.output,
        *rules.progress_animations.output,
    ]
    if ratings_database(None):
        report_files.append(rules.ratings_summary.output.table)
    return hiragana + bokete + pizza + captions + report_files
