"""`neta weights fetch`: a backbone's ImageNet weights into torch's hub cache, once, before a run.

An area of its own: no workflow stage runs it (a stage never downloads; see
:mod:`neta.features.weights`), so adding it here reruns none of them.
"""

from __future__ import annotations

from neta.commands.crawling import print_summary


def cmd_weights_fetch(args) -> int:
    from neta.features.backbones import imagenet_weights
    from neta.features.weights import fetch_weights

    weights = imagenet_weights(args.backbone)
    found = fetch_weights(args.backbone, weights)
    return print_summary({"backbone": args.backbone, "weights": str(found.path), "sha256": found.sha256})


def register(commands, verbs) -> None:
    weights = commands.add_parser("weights", help="ImageNet weights of a feature backbone")
    sub = weights.add_subparsers(dest="weights_command", required=True, metavar="ACTION")
    fetch = sub.add_parser(
        "fetch", help="download a backbone's weights into torch's hub cache (needs download.pytorch.org)",
        description="The one neta command that downloads weights: run it once, where the network reaches "
                    "download.pytorch.org, before a run with a features.backbone no installed package ships "
                    "(mobilenet_v2, the default, needs none). A checked copy already there is kept.")
    fetch.add_argument("--backbone", required=True, help="a features.backbone name, e.g. resnet50")
    fetch.set_defaults(handler=cmd_weights_fetch)
