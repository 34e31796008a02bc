"""Each rule's code params (code_params in common.smk) are the import graph of its handler, checked against
modulefinder's bytecode walk."""

from __future__ import annotations

import modulefinder
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
sys.path.insert(0, str(REPO / "workflow" / "lib"))

from code_inputs import is_command_module, stage_code  # noqa: E402

RULE = re.compile(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", re.S | re.M)
STAGE_CODE = re.compile(r'\*\*code_params\(\s*"([\w.]+:\w+)"(?:,\s*data=\[([^\]]*)\])?', re.S)


def rule_handlers() -> dict[str, tuple[str, list[str]]]:
    found = {}
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for name, body in RULE.findall(path.read_text(encoding="utf-8")):
            match = STAGE_CODE.search(body)
            if match:
                data = re.findall(r'"([^"]+)"', match.group(2) or "")
                found[name] = (match.group(1), data)
    return found


class NetaOnlyFinder(modulefinder.ModuleFinder):
    """modulefinder limited to the neta package, scanning only a command module's top level and handler."""

    def __init__(self, handlers: dict[str, str]):
        super().__init__(path=[str(SRC)])
        self.handlers = handlers

    def find_module(self, name, path, parent=None):
        if parent is None and path is None and name != "neta":
            raise ImportError(name)
        return super().find_module(name, path, parent)

    def scan_code(self, co, m):
        if m.__name__ and is_command_module(m.__name__) and co.co_name == "<module>":
            keep = self.handlers.get(m.__name__)
            consts = tuple(c if not isinstance(c, type(co)) or c.co_name == keep else None for c in co.co_consts)
            co = co.replace(co_consts=consts)
        super().scan_code(co, m)


def modulefinder_files(handler: str) -> set[str]:
    module, _, function = handler.partition(":")
    finder = NetaOnlyFinder({module: function})
    finder.run_script(str(SRC / "neta" / "__main__.py"))
    finder.import_hook(module)
    return {str(Path(m.__file__)) for m in finder.modules.values() if m.__file__}


HANDLERS = rule_handlers()


def test_every_rule_tracks_its_code():
    expected = {"synthetic_etl", "convert_etl", "train_hiragana", "evaluate_hiragana", "bokete_snapshot",
                "scrape_bokete", "download_bokete_images", "extract_features", "merge_features",
                "dodo_snapshot", "scrape_dodo", "encode_recipes", "download_dodo_images", "augment_pizza",
                "prepare_captions", "prepare_caption_dataset", "extract_caption_features", "train_captioner",
                "evaluate_captioner", "train_cvae", "train_gan", "train_cvae_gan", "train_ingredient_classifier",
                "evaluate_pizza", "synthetic_etl_heldout", "convert_etl_heldout", "convert_etl_bn_cnn",
                "convert_etl_heldout_bn_cnn", "train_hiragana_bn_cnn", "relayout_hiragana_tests",
                "relayout_hiragana_heldout", "data_statistics", "metric_tables",
                "report_gallery", "progress_animations"}
    assert expected <= set(HANDLERS), HANDLERS


@pytest.mark.parametrize("rule", sorted(HANDLERS))
def test_code_params_are_the_transitive_imports_of_the_handler(rule):
    handler, data = HANDLERS[rule]
    computed = set(stage_code(SRC, [handler], data))
    data_files = {str(SRC / "neta" / name) for name in data}
    assert data_files <= computed
    assert computed - data_files == modulefinder_files(handler)


def test_the_synthetic_etl_files_do_not_depend_on_the_reader():
    computed = stage_code(SRC, [HANDLERS["synthetic_etl"][0]])
    assert not any(path.endswith("etl/reader.py") for path in computed)


def test_a_handler_body_is_followed_for_its_own_stage_only():
    synth = set(stage_code(SRC, ["neta.commands.etl:cmd_etl_synth"]))
    convert = set(stage_code(SRC, ["neta.commands.etl:cmd_etl_convert"]))
    assert any("/etl/synth/" in p for p in synth) and not any("/etl/synth/" in p for p in convert)
    assert any(p.endswith("etl/convert.py") for p in convert) and not any(p.endswith("etl/convert.py") for p in synth)


def test_an_unknown_handler_or_data_file_is_an_error():
    with pytest.raises(ValueError, match="cmd_nope"):
        stage_code(SRC, ["neta.commands.etl:cmd_nope"])
    with pytest.raises(ValueError, match="nope.yaml"):
        stage_code(SRC, ["neta.commands.etl:cmd_etl_synth"], ["nope.yaml"])
