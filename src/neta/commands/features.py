"""`neta features …`: CNN feature vectors of a folder or manifest of images, and the merge of shards."""

from __future__ import annotations

from neta.commands.crawling import print_summary
from neta.layout import Layout
from neta.settings import add_settings_options, read_settings

# The config parts the extraction reads (its rule passes exactly these as --settings).
EXTRACT_KEYS = ("device", "features")


def cmd_features(args) -> int:
    if args.merge:
        from neta.features.extract import merge_feature_shards

        return print_summary(merge_feature_shards(args.merge, args.out))

    from neta.features.config import FeatureSettings
    from neta.features.extract import extract_features
    from neta.features.inputs import images_from, shard_of

    settings = read_settings(args)
    features = FeatureSettings.of(settings)
    items = images_from(args.images)
    if args.shard is not None:  # one of the workflow's features.shards jobs; without --shard, every image
        items = shard_of(items, shard=args.shard, shards=features.shards, batch_size=features.batch_size)
    return print_summary(extract_features(items, args.out, settings=features, device=settings["device"],
                                          threads=args.threads, onnx_dir=args.onnx_dir))


def register(commands, verbs) -> None:
    parser = commands.add_parser("features", help="CNN feature vectors of images -> HDF5 (or merge shards)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", metavar="DIR|MANIFEST", help="a folder of images or a download manifest.csv")
    source.add_argument("--merge", nargs="+", metavar="SHARD.h5", help="shard files to merge, in order")
    parser.add_argument("--out", required=True, help="features.h5 (or a shard) to write")
    parser.add_argument("--shard", type=int, help="which of features.shards this job computes (default: all images)")
    parser.add_argument("--onnx-dir", default=Layout.onnx_cache(), help="where ONNX exports are kept (backend onnx)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (the rule's threads:)")
    add_settings_options(parser, EXTRACT_KEYS)
    parser.set_defaults(handler=cmd_features)
