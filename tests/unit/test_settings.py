"""One source of truth: the schema's defaults, the workflow's --settings, the flags, one validation."""

from __future__ import annotations

import argparse
import json

import pytest
import yaml

from neta.errors import NetaError
from neta.settings import (
    add_settings_options,
    load_schema,
    read_settings,
    speed_only_keys,
    split_speed_only,
    subset,
    typed_scalars,
    validate_config,
)

KEYS = ("seed", "device", "hiragana.train", "hiragana.baseline")


def parse(*argv: str) -> dict:
    parser = argparse.ArgumentParser()
    add_settings_options(parser, KEYS)
    return read_settings(parser.parse_args(list(argv)))


def test_no_settings_means_the_schema_defaults():
    defaults = load_schema()["properties"]["hiragana"]["properties"]["train"]["properties"]
    settings = parse()
    assert settings["hiragana"]["train"]["steps"] == defaults["steps"]["default"]
    assert settings["hiragana"]["train"]["lr_schedule"] == defaults["lr_schedule"]["default"]
    assert settings["seed"] == 0 and set(settings) == {"seed", "device", "hiragana"}


def test_workflow_settings_are_taken_as_given_and_flags_override_them():
    given = validate_config({"hiragana": {"train": {"steps": 7}}})
    payload = {"seed": 3, "device": "cpu", "hiragana": {k: given["hiragana"][k] for k in ("train", "baseline")}}
    settings = parse("--settings", json.dumps(payload), "--baseline-steps", "11",
                     "--train-lr-schedule", "[[0, 0.01], [5, 0.001]]")
    assert settings["seed"] == 3 and settings["hiragana"]["train"]["steps"] == 7
    assert settings["hiragana"]["baseline"]["steps"] == 11
    assert settings["hiragana"]["train"]["lr_schedule"] == [[0, 0.01], [5, 0.001]]  # a list, never a string


@pytest.mark.parametrize("payload, words", [
    ({"seed": 0, "device": "cpu", "hiragana": {"train": {}}}, "hiragana.baseline missing"),
    ({"seed": 0, "device": "cpu", "hiragana": {"train": {}, "baseline": {}, "size": 28}}, "others too"),
])
def test_settings_must_hold_exactly_what_the_command_reads(payload, words):
    with pytest.raises(NetaError, match=words):
        parse("--settings", json.dumps(payload))


def test_a_configfile_is_read_and_validated_naming_the_key(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"hiragana": {"train": {"steps": 9}}}), encoding="utf-8")
    assert parse("--configfile", str(config))["hiragana"]["train"]["steps"] == 9
    config.write_text(yaml.safe_dump({"hiragana": {"train": {"steps": "many"}}}), encoding="utf-8")
    with pytest.raises(NetaError, match=r"hiragana\.train\.steps: 'many' is not of type 'integer'"):
        parse("--configfile", str(config))


def test_a_bad_flag_value_is_caught_by_the_schema():
    with pytest.raises(NetaError, match=r"hiragana\.train\.steps"):
        parse("--train-steps", "0")


def test_a_misspelt_key_is_one_line_naming_it_and_the_allowed_keys():
    with pytest.raises(NetaError) as caught:
        validate_config({"hiragana": {"train": {"stepz": 5}}})
    message = str(caught.value)
    assert "\n" not in message and "stepz" in message and "hiragana.train" in message and "steps" in message


def test_every_schema_key_is_described_typed_and_defaulted():
    schema = load_schema()

    def walk(node, path):
        if "$ref" in node:  # "#/definitions/<name>", its own keys overriding the definition's
            node = {**schema["definitions"][node["$ref"].rsplit("/", 1)[1]], **node}
        assert node.get("description"), f"{path} has no description"
        assert "type" in node, f"{path} has no type"
        if path:
            assert "default" in node, f"{path} has no default"
        for name, child in node.get("properties", {}).items():
            walk(child, f"{path}.{name}".lstrip("."))

    walk(schema, "")


def test_a_list_of_strings_is_a_repeated_flag():
    parser = argparse.ArgumentParser()
    add_settings_options(parser, ("bokete.start_paths",))
    args = parser.parse_args(["--start-paths", "/boke/hot", "--start-paths", "/odai/1..3"])
    assert read_settings(args)["bokete"]["start_paths"] == ["/boke/hot", "/odai/1..3"]


def test_the_schema_offers_exactly_the_choices_the_code_has():
    from neta.features.backbones import BACKBONES, LAYERS
    from neta.features.engines import BACKENDS
    from neta.pizza.rotations import ORDERS

    properties = load_schema()["properties"]
    features = properties["features"]["properties"]
    assert set(features["backbone"]["enum"]) == set(BACKBONES)
    assert set(features["layer"]["enum"]) == set(LAYERS)
    assert set(features["backend"]["enum"]) == set(BACKENDS)
    assert set(properties["pizza"]["properties"]["augment"]["properties"]["order"]["enum"]) == set(ORDERS)


def _config_sections() -> list[type]:
    """Every ConfigSection subclass in the package (each module imported, so none is missed)."""
    import importlib
    import pkgutil

    import neta
    from neta.settings import ConfigSection

    for module in pkgutil.walk_packages(neta.__path__, "neta."):
        if not module.name.startswith(("neta.web", "neta.__main__")):
            importlib.import_module(module.name)
    found, todo = [], [ConfigSection]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def _schema_keys(key: str) -> list[str]:
    node = load_schema()
    for part in key.split("."):
        node = node["properties"][part]
        if "$ref" in node:
            node = load_schema()["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return list(node["properties"])


def test_each_config_dataclass_has_exactly_the_schema_keys_of_its_section_in_order():
    import dataclasses

    sections = _config_sections()
    assert len(sections) >= 8, sections  # hiragana, boke, features and pizza sections
    for section in sections:
        fields = [field.name for field in dataclasses.fields(section)]
        assert fields == _schema_keys(section.KEY), section
        built = section.of(validate_config({}))
        assert dataclasses.is_dataclass(built) and built.__dataclass_params__.frozen, section
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(built, fields[0], None)
        assert json.loads(json.dumps(built.record())) == built.record()


def test_a_section_with_a_missing_or_extra_key_is_refused_naming_it():
    from neta.pizza.config import TrainingSettings

    with pytest.raises(NetaError, match="config key pizza.models.gan: expected the keys epochs, batch_size, lr"):
        TrainingSettings.from_values({"epochs": 1, "batch_size": 2}, "pizza.models.gan")
    with pytest.raises(NetaError, match="settings lack 'pizza.models.gan'"):
        TrainingSettings.of({"pizza": {}}, "pizza.models.gan")
    # the schema's "integer" admits 5.0; the section holds an int
    settings = validate_config({"pizza": {"models": {"gan": {"epochs": 5.0}}}})
    assert TrainingSettings.of(settings, "pizza.models.gan").epochs == 5
    assert type(TrainingSettings.of(settings, "pizza.models.gan").epochs) is int


def test_a_sections_own_defaults_hold_when_only_some_of_its_keys_are_given():
    # pizza.models.cvae shares the training definition (lr 0.001) but defaults to 2e-3: setting
    # its epochs alone must keep that, as leaving the section out does
    for given in ({}, {"pizza": {"models": {"cvae": {"epochs": 3}, "cvae_gan": {"epochs": 2}}}}):
        filled = validate_config(given)["pizza"]["models"]
        assert filled["cvae"]["lr"] == 0.002 and filled["cvae_gan"]["lr"] == 0.002
        assert filled["classifier"]["lr"] == 0.001 and filled["cvae_original"]["lr"] == 0.001  # the definition's
    assert validate_config({"pizza": {"models": {"cvae": {"epochs": 3}}}})["pizza"]["models"]["cvae"]["epochs"] == 3
    assert validate_config({"pizza": {"models": {"cvae": {"lr": 0.01}}}})["pizza"]["models"]["cvae"]["lr"] == 0.01


def test_strings_are_typed_as_the_schema_says_where_they_read_as_that_type():
    """`snakemake --config 'hiragana={train: {steps: 100}}'` reads nested values as strings."""
    given = {"seed": "3", "hiragana": {"train": {"steps": "100", "init_std": "0.05", "lr_schedule": [["0", "1e-3"]]},
                                       "augment": {"enabled": "false"}, "format": "ETL9G", "classes": "75"},
             "bokete": {"contact": "12345", "start_paths": ["/odai/1"]},
             "pizza": {"models": {"gan": {"lr": "2e-4"}}, "recipes": {"aliases": {"a": "1"}}}}
    typed = typed_scalars(given)
    assert typed["seed"] == 3
    assert typed["hiragana"]["train"] == {"steps": 100, "init_std": 0.05, "lr_schedule": [[0, 0.001]]}
    assert typed["hiragana"]["augment"]["enabled"] is False and typed["hiragana"]["classes"] == 75
    assert typed["hiragana"]["format"] == "ETL9G"
    assert typed["bokete"]["contact"] == "12345"  # a string where the schema says string
    assert typed["pizza"]["models"]["gan"]["lr"] == 0.0002  # through the $ref'd training definition
    assert typed["pizza"]["recipes"]["aliases"] == {"a": "1"}
    assert given["hiragana"]["train"]["steps"] == "100"  # a copy: the argument is left as it was
    # what does not read as the type is left for the validation to name
    for bad, words in ((("hiragana", "train", "steps"), "'many' is not of type 'integer'"),
                       (("hiragana", "augment", "enabled"), "'many' is not of type 'boolean'"),
                       (("hiragana", "train", "init_std"), "'many' is not of type 'number'")):
        config: dict = {}
        node = config
        for part in bad[:-1]:
            node = node.setdefault(part, {})
        node[bad[-1]] = "many"
        with pytest.raises(NetaError, match=words):
            validate_config(typed_scalars(config))
    assert typed_scalars({"hiragana": {"train": {"steps": "1.5"}}})["hiragana"]["train"]["steps"] == "1.5"


SITE_KEYS = ("bokete.rate_limit", "bokete.download")


def site_parse(*argv: str) -> dict:
    parser = argparse.ArgumentParser()
    add_settings_options(parser, SITE_KEYS)
    return read_settings(parser.parse_args(list(argv)))


def test_speed_only_settings_travel_apart_and_the_command_puts_them_back():
    assert speed_only_keys(SITE_KEYS) == ["bokete.rate_limit", "bokete.download.workers"]
    parts = subset(validate_config({"bokete": {"download": {"workers": 3}}}), SITE_KEYS)
    tracked, speed = split_speed_only(parts, SITE_KEYS)
    assert speed == {"bokete": {"rate_limit": 1.0, "download": {"workers": 3}}}
    assert tracked == {"bokete": {"download": {"max_bytes": 20971520}}}
    settings = site_parse("--settings", json.dumps(tracked), "--speed-settings", json.dumps(speed))
    assert settings == parts
    # without them the settings lack a part; anything else in --speed-settings is refused
    with pytest.raises(NetaError, match=r"bokete\.rate_limit, bokete\.download\.workers missing \(speed-only"):
        site_parse("--settings", json.dumps(tracked))
    with pytest.raises(NetaError, match="--speed-settings may hold only"):
        site_parse("--settings", json.dumps(tracked), "--speed-settings",
                   json.dumps({**speed, "seed": 1}))
    with pytest.raises(NetaError, match="--speed-settings may hold only"):
        site_parse("--settings", json.dumps(tracked), "--speed-settings",
                   json.dumps({"bokete": {"download": {"workers": 3, "max_bytes": 5}}}))
    # a command whose parts hold none has no such option
    with pytest.raises(SystemExit):
        parse("--speed-settings", "{}")
