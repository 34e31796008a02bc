"""`neta report …`: the files the Snakemake report shows beside the stages' own figures.

``data-statistics`` writes the numbers of every crawl and conversion (``data_statistics.json``, the
browser app's Data page computes the same with :mod:`neta.stats.data`) and a figure a system;
``metric-tables`` renders each system's ``metrics.json`` as a self-contained HTML table page,
since Snakemake's report shows JSON only as a download; ``gallery`` makes the caption gallery one
self-contained page (its photos inlined), which a report can show; ``animations`` does the same for
the generators' progress GIFs, which a report offers only as downloads.
"""

from __future__ import annotations

import json
import logging
import time

log = logging.getLogger("neta")

# What a table is called by the name the rule gives it; any other name is its own title.
TABLE_TITLES = {
    "hiragana": "Hiragana recognizer: metrics on the test split",
    "boke": "Boke generator: caption metrics on the held-out photos",
    "pizza": "Pizza generators: recipe fidelity, unseen recipes, the latent, KID and timings",
}


def cmd_report_data(args) -> int:
    from neta.atomic import write_json
    from neta.figures import save_figure
    from neta.stats.data import bokete_statistics, crawl_statistics, etl_statistics, pizza_statistics
    from neta.stats.figures import bokete_figure, hiragana_figure, pizza_figure

    started = time.perf_counter()
    stats = {
        "bokete": bokete_statistics(args.bokes, args.captions, args.vocab),
        "pizza": pizza_statistics(args.menu, args.recipes),
        "hiragana": etl_statistics(args.etl),
        "crawl": {"bokete": crawl_statistics(args.bokete_manifest), "pizza": crawl_statistics(args.pizza_manifest)},
    }
    log.info("read %s, %s, %s, %s, %s, %s, %s, %s", args.bokes, args.captions, args.vocab, args.bokete_manifest,
             args.menu, args.recipes, args.pizza_manifest, args.etl)
    save_figure(bokete_figure(stats["bokete"], stats["crawl"]["bokete"]), args.bokete_figure)
    save_figure(pizza_figure(stats["pizza"], stats["crawl"]["pizza"]), args.pizza_figure)
    save_figure(hiragana_figure(stats["hiragana"]), args.hiragana_figure)
    write_json(args.out, stats)  # last: the rule's outputs are complete once the JSON exists
    log.info("wrote %s, %s, %s and %s in %.1f s", args.bokete_figure, args.pizza_figure, args.hiragana_figure,
             args.out, time.perf_counter() - started)
    print(json.dumps({name: {key: value for key, value in part.items() if not isinstance(value, (list, dict))}
                      for name, part in stats.items() if name != "crawl"}, ensure_ascii=False, sort_keys=True))
    return 0


def cmd_report_tables(args) -> int:
    from neta.atomic import write_text
    from neta.json_files import read_json_object
    from neta.stats.metric_tables import metrics_html

    for name, metrics_path, html_path in args.table:
        metrics = read_json_object(metrics_path, f"the {name} metrics", "rerun the stage that writes it")
        write_text(html_path, metrics_html(metrics, title=TABLE_TITLES.get(name, name), source=metrics_path))
        log.info("read %s, wrote %s", metrics_path, html_path)
    return 0


def cmd_report_gallery(args) -> int:
    from neta.json_files import read_json_object
    from neta.stats.gallery import write_inline_gallery

    metrics = read_json_object(args.metrics, "the caption metrics", "rerun evaluate_captioner, which writes it")
    shown = write_inline_gallery(args.samples, args.captions, metrics, args.out)
    log.info("read %s and %d photos beside %s, wrote %s", args.samples, shown, args.captions, args.out)
    return 0


def cmd_report_animations(args) -> int:
    from neta.atomic import write_text
    from neta.stats.animations import animations_html

    write_text(args.out, animations_html([tuple(pair) for pair in args.gif], title=args.title))
    log.info("read %s, wrote %s", ", ".join(path for _, path in args.gif), args.out)
    return 0


def register(commands, verbs) -> None:
    report = commands.add_parser("report", help="data statistics and metric tables for the Snakemake report")
    sub = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")

    data = sub.add_parser("data-statistics", help="statistics of the crawls and the ETL conversion, as JSON "
                                                  "and a figure a system")
    data.add_argument("--bokes", required=True, help="bokes.csv of `neta scrape bokete`")
    data.add_argument("--captions", required=True, help="captions.csv of `neta captioner prepare`")
    data.add_argument("--vocab", required=True, help="vocab.json of `neta captioner train`")
    data.add_argument("--bokete-manifest", required=True, help="images/manifest.csv of `neta download bokete`")
    data.add_argument("--menu", required=True, help="menu.csv of `neta scrape dodo`")
    data.add_argument("--recipes", required=True, help="recipes.json of `neta pizza recipes`")
    data.add_argument("--pizza-manifest", required=True, help="images/manifest.csv of `neta download dodo`")
    data.add_argument("--etl", required=True, help="etl_28.h5 of `neta etl convert`")
    data.add_argument("--out", required=True, help="data_statistics.json to write")
    data.add_argument("--bokete-figure", required=True, help="PNG to write: bokes, stars, caption lengths")
    data.add_argument("--pizza-figure", required=True, help="PNG to write: ingredient frequencies")
    data.add_argument("--hiragana-figure", required=True, help="PNG to write: ETL samples a class")
    data.set_defaults(handler=cmd_report_data)

    tables = sub.add_parser("metric-tables", help="each metrics.json as a self-contained HTML page of tables")
    tables.add_argument("--table", required=True, nargs=3, action="append", metavar=("NAME", "METRICS", "HTML"),
                        help="a system's name (hiragana, boke, pizza give the title), its metrics.json and the "
                             "HTML file to write; repeat for each system")
    tables.set_defaults(handler=cmd_report_tables)

    gallery = sub.add_parser("gallery", help="the caption gallery with its photos inlined: one self-contained page")
    gallery.add_argument("--samples", required=True, help="samples.json of `neta captioner evaluate`")
    gallery.add_argument("--captions", required=True, help="the caption table the samples' photo paths are "
                                                           "relative to (captions.csv)")
    gallery.add_argument("--metrics", required=True, help="metrics.json of `neta captioner evaluate` (the summary)")
    gallery.add_argument("--out", required=True, help="HTML file to write")
    gallery.set_defaults(handler=cmd_report_gallery)

    animations = sub.add_parser("animations", help="GIF animations inlined in one self-contained page (a report "
                                                   "shows GIFs only as downloads)")
    animations.add_argument("--gif", required=True, nargs=2, action="append", metavar=("LABEL", "GIF"),
                            help="a label and its GIF; repeat for each animation, in the order shown")
    animations.add_argument("--title", required=True, help="the page's title")
    animations.add_argument("--out", required=True, help="HTML file to write")
    animations.set_defaults(handler=cmd_report_animations)
