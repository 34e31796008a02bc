# Input functions, path helpers and code-input lists; nothing else.
from pathlib import Path

SRC = Path(workflow.basedir) / "src" / "neta"

# Modules every stage imports; editing one reruns everything that writes artifacts. (cli.py only
# assembles the subcommands of neta/commands/, which each stage lists as its own code.)
SHARED_CODE = [
    "__init__.py",
    "atomic.py",
    "errors.py",
    "h5io.py",
    "device.py",
]

# The polite HTTP layer every crawl and download goes through, and the snapshot it may serve.
POLITE_HTTP_CODE = [
    "commands/bokete.py",
    "commands/crawling.py",
    "scrape/charset.py",
    "scrape/fetch.py",
    "scrape/ratelimit.py",
    "scrape/robots.py",
    "scrape/session.py",
    "scrape/sites.py",
    "scrape/urls.py",
    "snapshot/server.py",
]

# Source files each stage runs, so editing them reruns that stage and what it feeds, and nothing else.
STAGE_CODE = {
    "synthetic_etl": [
        "commands/etl.py",
        "etl/synth.py",
        "etl/writer.py",
        "fonts.py",
        "etl/formats.py",
        "etl/jis.py",
    ],
    "convert_etl": [
        "commands/etl.py",
        "etl/reader.py",
        "etl/convert.py",
        "etl/formats.py",
        "etl/jis.py",
    ],
    "train_hiragana": [
        "commands/hiragana.py",
        "models/hiragana.py",
        "train/etl_dataset.py",
        "train/hiragana.py",
        "train/schedules.py",
    ],
    "evaluate_hiragana": [
        "commands/hiragana.py",
        "models/hiragana.py",
        "models/hiragana_checkpoint.py",
        "train/etl_dataset.py",
        "train/hiragana.py",
        "train/schedules.py",
        "evaluate/hiragana.py",
        "evaluate/hiragana_figures.py",
        "fonts.py",
    ],
    "bokete_snapshot": [
        "commands/bokete.py",
        "snapshot/bokete.py",
        "snapshot/bokete_pages.py",
        "snapshot/data/bokete.yaml",
    ],
    "scrape_bokete": POLITE_HTTP_CODE
    + [
        "scrape/crawl.py",
        "scrape/pagestore.py",
        "scrape/records.py",
        "scrape/bokete/*.py",
    ],
    "download_bokete_images": POLITE_HTTP_CODE + ["images/download.py"],
}


def stage_code(stage):
    return sorted(
        str(path) for name in SHARED_CODE + STAGE_CODE[stage] for path in SRC.glob(name)
    )


def results_path(*parts):
    return str(Path("results", *parts))


def hiragana_path(name):
    return results_path("hiragana", name)


def log_path(rule_name):
    return results_path("logs", f"{rule_name}.log")


def benchmark_path(rule_name):
    return results_path("benchmarks", f"{rule_name}.tsv")


def etl_input_dir(wildcards):
    """Real ETL files when hiragana.etl_dir is set, else the synthetic stand-in."""
    return config["hiragana"]["etl_dir"] or hiragana_path("etl_synthetic")


def etl_format():
    return config["hiragana"]["format"] if config["hiragana"]["etl_dir"] else "ETL8G"


def schedule_arg(schedule):
    """[[0, 1e-3], [1000, 1e-4]] -> "0:0.001,1000:0.0001", the CLI's schedule syntax."""
    return ",".join(f"{int(step)}:{value!r}" for step, value in schedule)


def hiragana_outputs():
    return [
        hiragana_path(name)
        for name in ("metrics.json", "confusion.png", "filters.png", "errors.png")
    ]


def bokete_path(name):
    return results_path("bokete", name)


def cache_path(site):
    """The HTTP cache a site's crawl and downloads share, so a rerun fetches nothing twice."""
    return results_path("cache", f"{site}.sqlite")


def bokete_snapshot_input(wildcards):
    """The bundled offline snapshot when no live base_url is configured, else nothing."""
    return [] if config["bokete"]["base_url"] else [bokete_path("snapshot")]


def bokete_site_arg():
    base_url = config["bokete"]["base_url"]
    return (
        f"--base-url {base_url}"
        if base_url
        else f"--snapshot {bokete_path('snapshot')}"
    )


def repeated_arg(flag, values):
    return " ".join(f"{flag} {value}" for value in values)


def bokete_outputs():
    return [bokete_path("bokes.csv"), bokete_path("images/manifest.csv")]
