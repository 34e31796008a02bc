"""The package's layers (docs/architecture.md): core <- shared <- systems <- faces, and no system
importing another. Read from every module's import statements (function bodies included)."""

from __future__ import annotations

import ast
from pathlib import Path

import neta

PACKAGE = Path(neta.__file__).parent
CORE = {"atomic", "diskspace", "images", "h5io", "settings", "device", "errors", "tables", "json_files",
        "torch_files", "fonts", "figures", "progress"}
SHARED = {"scrape", "features", "ratings"}
SYSTEMS = {"hiragana", "boke", "pizza"}
FACES = {"commands", "web", "stats", "layout", "cli", "__main__"}
RANK = {**dict.fromkeys(CORE, 0), **dict.fromkeys(SHARED, 1), **dict.fromkeys(SYSTEMS, 2), **dict.fromkeys(FACES, 3)}


def _area(module: str) -> str:
    """The first name below ``neta`` (``neta.pizza.train`` -> ``pizza``); ``neta`` itself is the core."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "atomic"


def _imports() -> list[tuple[str, str]]:
    pairs = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(("neta", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] if node.module != "neta" else [
                    f"neta.{a.name}" for a in node.names if (PACKAGE / a.name).exists()
                    or (PACKAGE / f"{a.name}.py").exists()]  # `from neta import __version__` is the core
            pairs += [(module, name) for name in names if name.startswith("neta.")]
    return pairs


def test_every_area_of_the_package_has_a_layer():
    areas = {path.stem if path.is_file() else path.name for path in PACKAGE.iterdir()
             if (path.suffix == ".py" or (path / "__init__.py").is_file())}
    assert areas - {"__init__"} <= set(RANK), sorted(areas - set(RANK) - {"__init__"})


def test_no_layer_imports_a_higher_one_and_no_system_another():
    pairs = _imports()
    assert len(pairs) > 200, len(pairs)  # the scan sees the package's imports
    wrong = []
    for importer, imported in pairs:
        a, b = _area(importer), _area(imported)
        if RANK[b] > RANK[a] or (a in SYSTEMS and b in SYSTEMS and a != b):
            wrong.append(f"{importer} imports {imported}")
        if a in SHARED and b in SHARED and a != b:
            wrong.append(f"{importer} imports {imported} (the shared packages know nothing of each other)")
    assert not wrong, "\n".join(wrong)
