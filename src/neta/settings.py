"""The workflow configuration as a command reads it: one schema holds every key and its default.

A command names the parts of the configuration it reads (``("seed", "hiragana.train")``). It gets
them, in the same nested structure as ``config.yaml``, from one of:

* ``--settings JSON``: what a workflow rule passes, exactly those parts and nothing else (a rule
  that passes too little or too much is an error, so a rule and its command cannot drift apart);
* ``--configfile config.yaml``: a whole configuration file, for running a stage by hand;
* neither: the schema's defaults;

then per-key flags generated from the schema (``--steps 500``) override single values, and the
result is validated against the schema. Nothing here has a default of its own.

A key the schema marks ``speed_only: true`` (download workers, request rates) changes how fast a stage
runs and never what it writes. The workflow passes those apart, as ``--speed-settings JSON``, so that
a change of one reruns nothing; the command puts the two back together and checks the whole.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import typing
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Self

import yaml

from neta.errors import NetaError

SCHEMA_RESOURCE = "config.schema.yaml"  # a link to workflow/schemas/config.schema.yaml
_FLAG_TYPES = {"integer": int, "number": float, "string": str}
# What a string given for a schema type must read as to become that value (see typed_scalars).
_SCALAR_TYPES = {
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value),
    "boolean": lambda value: isinstance(value, bool),
}


@cache
def load_schema() -> dict:
    text = resources.files("neta").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def with_defaults(config: Mapping | None, schema: Mapping | None = None) -> dict:
    """A deep copy of ``config`` with every missing key of ``schema`` set to its default."""
    schema = load_schema() if schema is None else schema
    filled = copy.deepcopy(dict(config or {}))
    _fill(filled, schema, load_schema())
    return filled


def _fill(instance: dict, schema: Mapping, root: Mapping) -> None:
    for key, sub in schema.get("properties", {}).items():
        sub = _resolve(sub, root)
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if isinstance(instance.get(key), dict) and sub.get("type") == "object":
            # A section's own default (e.g. pizza.models.gan's lr beside the shared training definition)
            # holds key by key: giving the section's epochs must not bring back the definition's lr.
            for inner, value in (sub.get("default") or {}).items():
                instance[key].setdefault(inner, copy.deepcopy(value))
            _fill(instance[key], sub, root)


def _resolve(sub: Mapping, root: Mapping) -> Mapping:
    ref = sub.get("$ref")
    if not ref:
        return sub
    target: Any = root
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return {**target, **{k: v for k, v in sub.items() if k != "$ref"}}


def typed_scalars(config: Mapping, schema: Mapping | None = None) -> dict:
    """A deep copy of ``config`` in which each string the schema types as an integer, number or boolean
    is that value, when it reads as one: ``snakemake --config 'hiragana={train: {steps: 100}}'`` parses
    the nested mapping with YAML's base loader, which leaves every scalar a string ('100'). A string
    that does not read as the schema's type stays as it is, for validation to name."""
    root = load_schema()
    return _typed(copy.deepcopy(dict(config)), root if schema is None else schema, root)


def _typed(value: Any, schema: Mapping, root: Mapping) -> Any:
    schema = _resolve(schema, root)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, Mapping) else None)
            if sub is not None:
                value[key] = _typed(item, sub, root)
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [_typed(item, schema["items"], root) for item in value]
    if isinstance(value, str) and schema.get("type") in _SCALAR_TYPES:
        try:
            read = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        if schema["type"] == "number" and isinstance(read, str):
            try:
                read = float(read)  # YAML 1.1 reads 1e-3 (no dot) as a string
            except ValueError:
                return value
        return read if _SCALAR_TYPES[schema["type"]](read) else value
    return value


def validate_config(config: Mapping) -> dict:
    """``config`` with defaults filled in; a bad key or value raises NetaError in one line."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    filled = with_defaults(config)
    error = best_match(Draft202012Validator(load_schema()).iter_errors(filled))
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        if error.validator == "additionalProperties":
            known = ", ".join(sorted(error.schema.get("properties", {})))
            raise NetaError(f"config key {where}: {error.message}; the keys allowed here are: {known}")
        description = error.schema.get("description")
        hint = f" ({description})" if description else ""
        raise NetaError(f"config key {where}: {error.message}{hint}")
    return filled


def lookup(tree: Mapping, key: str) -> Any:
    """The value at dotted ``key`` of ``tree``; NetaError ``settings lack 'key'`` when a part is missing."""
    value: Any = tree
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise NetaError(f"settings lack {key!r}")
        value = value[part]
    return value


def subset(config: Mapping, keys: Iterable[str]) -> dict:
    """The parts of ``config`` named by dotted ``keys``, in the same nesting."""
    picked: dict = {}
    for key in keys:
        *parents, name = key.split(".")
        target = picked
        for part in parents:
            target = target.setdefault(part, {})
        target[name] = copy.deepcopy(lookup(config, key))
    return picked


def speed_only_keys(keys: Iterable[str]) -> list[str]:
    """The dotted keys under ``keys`` the schema marks ``speed_only``: they change how fast a stage runs,
    never what it writes (and so, in the workflow, never rerun a rule)."""
    root = load_schema()
    found: list[str] = []

    def walk(sub: Mapping, path: str) -> None:
        sub = _resolve(sub, root)
        if sub.get("speed_only"):
            found.append(path)
        for name, child in sub.get("properties", {}).items():
            walk(child, f"{path}.{name}")

    for key in keys:
        walk(_schema_at(key, root), key)
    return found


def split_speed_only(parts: Mapping, keys: Iterable[str]) -> tuple[dict, dict]:
    """``parts`` (the config parts ``keys`` name, as :func:`subset` gives them) as two trees: what can
    change a stage's outputs, and the ``speed_only`` values, which cannot."""
    tracked = copy.deepcopy(dict(parts))
    speed: dict = {}
    for key in speed_only_keys(keys):
        if not _has(tracked, key):
            continue
        *parents, name = key.split(".")
        node = tracked
        for part in parents:
            node = node[part]
        _set(speed, key, node.pop(name))
    return tracked, speed


def _schema_at(key: str, root: Mapping) -> Mapping:
    sub: Mapping = root
    for part in key.split("."):
        properties = _resolve(sub, root).get("properties", {})
        if part not in properties:
            raise NetaError(f"{key!r} is not a key of the config schema")
        sub = properties[part]
    return sub


def _has(tree: Mapping, key: str) -> bool:
    try:
        lookup(tree, key)
    except NetaError:
        return False
    return True


def leaf_schemas(keys: Iterable[str]) -> dict[str, dict]:
    """Every settable leaf under ``keys``: dotted path -> its (resolved) schema."""
    root = load_schema()
    leaves: dict[str, dict] = {}

    def walk(sub: Mapping, path: str) -> None:
        sub = _resolve(sub, root)
        if sub.get("type") == "object" and "properties" in sub:
            for name, child in sub["properties"].items():
                walk(child, f"{path}.{name}")
        else:
            leaves[path] = dict(sub)

    for key in keys:
        walk(_schema_at(key, root), key)
    return leaves


def flag_names(paths: Iterable[str]) -> dict[str, str]:
    """Dotted path -> command-line flag: the key's own name, or ``parent-name`` for every key of a
    parent where two parents share a key name (``--train-steps``, ``--baseline-steps``)."""
    paths = list(paths)
    last = [path.rsplit(".", 1)[-1] for path in paths]
    clashing = {path.rsplit(".", 1)[0] for path, name in zip(paths, last, strict=True) if last.count(name) > 1}
    names = {}
    for path, name in zip(paths, last, strict=True):
        if path.rsplit(".", 1)[0] in clashing:
            name = "-".join(path.split(".")[-2:])
        names[path] = "--" + name.replace("_", "-")
    return names


def add_settings_options(parser: argparse.ArgumentParser, keys: Iterable[str]) -> None:
    """``--settings``, ``--configfile`` and one flag a leaf of ``keys``, with the schema's descriptions."""
    keys = tuple(keys)
    group = parser.add_argument_group(
        "settings", "values of config.yaml this command reads; defaults come from the config schema")
    source = group.add_mutually_exclusive_group()
    source.add_argument("--settings", metavar="JSON",
                        help=f"the config parts {', '.join(keys)} as JSON (what the workflow passes)")
    source.add_argument("--configfile", metavar="YAML", help="read them from a whole config file")
    speed = speed_only_keys(keys)
    if speed:
        group.add_argument("--speed-settings", metavar="JSON",
                           help=f"the speed-only parts {', '.join(speed)} as JSON, apart from --settings "
                                "(the workflow passes them so that a change of one reruns nothing)")
    leaves = leaf_schemas(keys)
    for path, flag in flag_names(leaves).items():
        sub = leaves[path]
        default = json.dumps(sub.get("default"))
        options = dict(type=_FLAG_TYPES.get(sub.get("type"), _json_value), metavar=path.rsplit(".")[-1].upper())
        if sub.get("type") == "array" and sub.get("items", {}).get("type") == "string":
            options = dict(action="append", metavar=options["metavar"].removesuffix("S"))  # repeat the flag
        group.add_argument(flag, dest=f"setting:{path}", default=argparse.SUPPRESS, **options,
                           help=f"{path}: {sub.get('description', '')} (default {default})")
    parser.set_defaults(settings_keys=keys)


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not JSON, e.g. [[0, 0.001], [1000, 0.0001]]") from exc


def read_settings(args: argparse.Namespace) -> dict:
    """The validated settings of a command parsed with :func:`add_settings_options`."""
    keys = args.settings_keys
    speed = _json_object(getattr(args, "speed_settings", None), "--speed-settings")
    speed_keys = speed_only_keys(keys)
    if speed is not None and speed != subset(speed, [key for key in speed_keys if _has(speed, key)]):
        raise NetaError(f"--speed-settings may hold only the speed-only parts {', '.join(speed_keys)}")
    if args.settings is not None:
        # the workflow passes the speed-only parts apart: the two together must be exactly the parts
        config = _merged(_json_object(args.settings, "--settings"), speed or {})
        missing = [key for key in dict.fromkeys((*keys, *speed_keys)) if not _has(config, key)]
        if missing or config != subset(config, keys):
            hint = " (speed-only parts go in --speed-settings)" if set(missing) & set(speed_keys) else ""
            raise NetaError(f"--settings must hold exactly the config parts {', '.join(keys)}: "
                            + (f"{', '.join(missing)} missing{hint}" if missing else "it holds others too"))
    elif args.configfile is not None:
        config = _merged(_read_configfile(Path(args.configfile)), speed or {})
    else:
        config = _merged({}, speed or {})
    for name, value in vars(args).items():
        if name.startswith("setting:"):
            _set(config, name.removeprefix("setting:"), value)
    return subset(validate_config(config), keys)


def _json_object(text: str | None, option: str) -> dict | None:
    if text is None:
        return None
    try:
        given = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NetaError(f"{option} is not valid JSON: {exc}") from exc
    if not isinstance(given, dict):
        raise NetaError(f"{option} must be a JSON object in the structure of config.yaml")
    return given


def _merged(base: dict, extra: Mapping) -> dict:
    """``extra`` over ``base`` key by key at every depth."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merged(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _read_configfile(path: Path) -> dict:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise NetaError(f"{path}: cannot read the config file ({exc})") from exc
    if loaded is not None and not isinstance(loaded, dict):
        raise NetaError(f"{path}: a config file is a mapping of keys, like config.yaml")
    return loaded or {}


def _set(config: dict, path: str, value: Any) -> None:
    *parents, name = path.split(".")
    for part in parents:
        config = config.setdefault(part, {})
    config[name] = value


class ConfigSection:
    """A config section as a frozen dataclass, built once from validated settings: subclass it with
    ``@dataclass(frozen=True)``, name the section in ``KEY``, and give one field a key of the schema's
    section (no defaults: they live in the schema). A field typed with another ConfigSection holds a
    nested section. Lists become tuples; :meth:`record` gives the plain values a checkpoint stores."""

    KEY: ClassVar[str]

    @classmethod
    def of(cls, settings: Mapping, key: str | None = None) -> Self:
        """The section ``key`` (default :attr:`KEY`) of ``settings``, the validated config parts."""
        key = key or cls.KEY
        return cls.from_values(lookup(settings, key), key)

    @classmethod
    def from_values(cls, values: Mapping, key: str) -> Self:
        names = [field.name for field in dataclasses.fields(cls)]
        if not isinstance(values, Mapping) or set(values) != set(names):
            got = sorted(values) if isinstance(values, Mapping) else type(values).__name__
            raise NetaError(f"config key {key}: expected the keys {', '.join(names)}; got {got}")
        hints = typing.get_type_hints(cls)
        built = {}
        for name in names:
            hint = hints[name]
            if isinstance(hint, type) and issubclass(hint, ConfigSection):
                built[name] = hint.from_values(values[name], f"{key}.{name}")
            elif hint is int and isinstance(values[name], float):
                built[name] = int(values[name])  # the schema's "integer" admits 5.0
            else:
                built[name] = _frozen(values[name])
        return cls(**built)

    def record(self) -> dict:
        """The section as plain JSON values (tuples as lists), as checkpoints and summaries keep it."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, Mapping):
        return FrozenDict({key: _frozen(item) for key, item in value.items()})
    return value


class FrozenDict(dict):
    """A read-only dict (a dict subclass so json and asdict treat it as one)."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("a config section is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse

    def __hash__(self) -> int:  # frozen dataclasses hash their fields
        return hash(tuple(sorted(self.items())))
