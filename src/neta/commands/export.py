"""`neta export oogiri-go`: neta's data written in the formats of the public humour sets.

An area of its own, not a verb of `neta … bokete`: no workflow stage runs it, so adding it here
reruns none of the crawl's stages (each tracks its command module).
"""

from __future__ import annotations

from neta.commands.crawling import print_summary


def cmd_export_oogiri_go(args) -> int:
    from neta.boke.sources.oogiri import export_oogiri_go

    return print_summary(export_oogiri_go(args.bokes, args.images_manifest, args.out))


def register(commands, verbs) -> None:
    export = commands.add_parser("export", help="neta's data in the formats of public datasets")
    sub = export.add_subparsers(dest="export_command", required=True, metavar="FORMAT")

    oogiri = sub.add_parser(
        "oogiri-go", help="the crawled bokes as Oogiri-GO JSON lines",
        description='One line a boke whose photo downloaded: {"type": "I2T", "question": null, "image": the '
                    'photo\'s file in the download folder, "text": the boke, "star": its stars}. The download '
                    "folder (the manifest's) is then the file's image folder: captioner.oogiri_go.images.")
    oogiri.add_argument("--bokes", required=True, help="bokes.csv of `neta scrape bokete`")
    oogiri.add_argument("--images-manifest", required=True,
                        help="the download manifest.csv of its photos (`neta download bokete`)")
    oogiri.add_argument("--out", required=True, help="the .jsonl file to write (UTF-8)")
    oogiri.set_defaults(handler=cmd_export_oogiri_go)
