"""The source files a stage runs, from the import graph of its entry point: a rule's code params.

An ``ast`` walk of the ``neta`` package only (modulefinder would walk into torch and numpy): from
``python -m neta`` (``neta/__main__.py``, ``neta/cli.py``) and the stage's handler, e.g.
``neta.commands.etl:cmd_etl_synth``, follow every ``neta.*`` import, at module level or inside a
function. The command modules (``neta.cli``, ``neta.commands.*``) are the exception: their handlers
import their stage lazily, so only their module-level imports are followed, plus the body of the
stage's own handler. Editing any file in the set reruns the stage; editing one outside it does not.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

PACKAGE = "neta"
ALWAYS = ("neta.__main__", "neta.cli")  # what `python -m neta` runs before any handler


def is_command_module(name: str) -> bool:
    return name == f"{PACKAGE}.cli" or name.startswith(f"{PACKAGE}.commands.")


class ImportGraph:
    def __init__(self, src_root: Path) -> None:
        self.src_root = Path(src_root)
        self._trees: dict[str, ast.Module] = {}
        # Every rule's closure walks mostly the same modules: each file is looked up and each
        # module's imports found once a workflow start (they were 1.9 of a dry run's 4 s).
        self._files: dict[str, Path | None] = {}
        self._imports: dict[tuple[str, str | None], frozenset[str]] = {}
        self._digests: dict[str, str] = {}

    def file_of(self, module: str) -> Path | None:
        if module not in self._files:
            base = self.src_root.joinpath(*module.split("."))
            found = [c for c in (base.with_suffix(".py"), base / "__init__.py") if c.is_file()]
            self._files[module] = found[0] if found else None
        return self._files[module]

    def tree(self, module: str) -> ast.Module:
        if module not in self._trees:
            path = self.file_of(module)
            if path is None:
                raise ValueError(f"no source file for module {module} under {self.src_root}")
            self._trees[module] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        return self._trees[module]

    def _is_package(self, module: str) -> bool:
        path = self.file_of(module)
        return path is not None and path.name == "__init__.py"

    def imported_by(self, module: str, nodes: list[ast.AST]) -> set[str]:
        """``neta`` modules the import statements among ``nodes`` (searched recursively) load."""
        found: set[str] = set()
        for top in nodes:
            for node in ast.walk(top):
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        found |= self._with_parents(alias.name)
                elif isinstance(node, ast.ImportFrom):
                    base = self._absolute(module, node)
                    if base is None:
                        continue
                    found |= self._with_parents(base)
                    for alias in node.names:
                        if self.file_of(f"{base}.{alias.name}") is not None:
                            found |= self._with_parents(f"{base}.{alias.name}")
        return found

    def _absolute(self, module: str, node: ast.ImportFrom) -> str | None:
        if node.level == 0:
            name = node.module or ""
        else:
            package = module if self._is_package(module) else module.rsplit(".", 1)[0]
            parts = package.split(".")
            parts = parts[: len(parts) - (node.level - 1)]
            name = ".".join(parts + ([node.module] if node.module else []))
        return name if name == PACKAGE or name.startswith(PACKAGE + ".") else None

    def _with_parents(self, name: str) -> set[str]:
        """``a.b.c`` loads a, a.b and a.b.c (each package's __init__ runs)."""
        if not (name == PACKAGE or name.startswith(PACKAGE + ".")):
            return set()
        parts = name.split(".")
        names = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        return {n for n in names if self.file_of(n) is not None}

    def direct_imports(self, module: str, handler: str | None = None) -> set[str]:
        key = (module, handler if is_command_module(module) else None)
        if key not in self._imports:
            self._imports[key] = frozenset(self._find_direct_imports(module, handler))
        return set(self._imports[key])

    def _find_direct_imports(self, module: str, handler: str | None) -> set[str]:
        tree = self.tree(module)
        if not is_command_module(module):
            return self.imported_by(module, [tree])
        # Module level only (function bodies are other stages' handlers), plus this stage's handler.
        top = [node for node in tree.body if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        if handler is not None:
            functions = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == handler]
            if not functions:
                raise ValueError(f"{module} has no function {handler}")
            top += functions
        return self.imported_by(module, top)

    def closure(self, entries: list[str]) -> set[str]:
        """Every ``neta`` module run by ``python -m neta`` for the handlers ``module:function``."""
        handlers: dict[str, str] = {}
        todo = list(ALWAYS)
        for entry in entries:
            module, _, function = entry.partition(":")
            if function:
                handlers[module] = function
            todo.append(module)
        todo += [parent for name in list(todo) for parent in self._with_parents(name)]
        seen: set[str] = set()
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            todo.extend(self.direct_imports(module, handlers.get(module)) - seen)
        return seen


    def stage_files(self, entries: list[str], data: list[str] = ()) -> list[str]:
        """Sorted paths of the source files (and the named data files, relative to the package) a stage
        runs. One graph serves every rule, so each source file is parsed once a workflow start."""
        files = {str(self.file_of(module)) for module in self.closure(list(entries))}
        package_dir = self.src_root / PACKAGE
        for name in data:
            path = package_dir / name
            if not path.is_file():
                raise ValueError(f"data file {name} of a stage is not in {package_dir}")
            files.add(str(path))
        return sorted(files)

    def digest(self, path: str | Path) -> str:
        """The SHA-256 of a file's content (hex), read once a workflow start."""
        key = str(path)
        if key not in self._digests:
            self._digests[key] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        return self._digests[key]


def stage_code(src_root: str | Path, entries: list[str], data: list[str] = ()) -> list[str]:
    """:meth:`ImportGraph.stage_files` of a graph made for this one call."""
    return ImportGraph(Path(src_root)).stage_files(entries, data)
