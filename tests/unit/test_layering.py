"""One-way layering: no module imports a layer above its own (the README's architecture sketch).

Every import in every module is read with `ast` (function-level imports too, since the lazy
ones are real dependencies), resolved to the shoplens module it names, and checked against
LAYERS. A new top-level module or package must be given a layer here, and in the README.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "shoplens"

# Lowest first. A module may import modules of its own layer or of lower ones, never higher.
LAYERS: list[tuple[str, set[str]]] = [
    ("records/config/errors", {"__init__", "records", "config", "config_file", "errors", "jsonlines", "fsutil"}),
    ("catalog", {"catalog"}),
    ("preprocess", {"preprocess"}),
    # Offline evaluation (TREC files, judgments, click models) and the behaviour log need only the
    # lexicon and records: they sit low so that no search or engine code can leak into them.
    ("evaluate/feedback", {"evaluate", "feedback"}),
    ("encoders", {"encoders"}),
    ("features", {"features"}),
    ("store", {"store"}),
    ("align", {"align"}),
    ("search", {"search"}),
    ("rank/recommend", {"rank", "recommend"}),
    ("engine", {"engine"}),
    ("interfaces", {"cli", "server", "__main__"}),
]
# The package's lazy `shoplens.Engine` (module __getattr__) is the public entry point, not a dependency
# of the modules below: importing `shoplens` does not import the engine.
ALLOWED = {("shoplens", "shoplens.engine")}
RANK = {part: n for n, (_, parts) in enumerate(LAYERS) for part in parts}
LAYER_NAME = {n: name for n, (name, _) in enumerate(LAYERS)}


def module_name(path: Path, root: Path = PKG) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    """'shoplens.search.understand' -> rank of 'search'; 'shoplens' (the package) -> base."""
    parts = module.split(".")
    if parts[0] != "shoplens":
        return None
    return RANK.get(parts[1] if len(parts) > 1 else "__init__", -1)


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute shoplens module) for every import of shoplens code in `source`."""
    here = module.split(".") if is_package else module.split(".")[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "shoplens"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "shoplens":
                continue
            for a in node.names:
                # `from . import retrieve` imports a module; `from .x import f` imports from x
                sub = f"{target}.{a.name}"
                out.append((node.lineno, sub if _is_module(sub) else target))
    return sorted(out)


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (PKG / rel).with_suffix(".py").is_file() or (PKG / rel / "__init__.py").is_file()


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    own = layer_of(module)
    out = []
    for line, target in imported_modules(source, module, is_package):
        theirs = layer_of(target)
        if theirs is not None and own is not None and theirs > own and (module, target) not in ALLOWED:
            out.append(f"{module}:{line} imports {target}: layer '{LAYER_NAME[theirs]}' is above '{LAYER_NAME[own]}'")
    return out


def all_modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_has_a_layer():
    unplaced = [module_name(p) for p in all_modules() if layer_of(module_name(p)) == -1]
    assert not unplaced, f"give these a layer in LAYERS (and in the README's architecture sketch): {unplaced}"


def test_no_module_imports_a_layer_above_it():
    found = []
    for p in all_modules():
        found += violations(p.read_text(encoding="utf-8"), module_name(p), p.name == "__init__.py")
    assert not found, "\n".join(found)


def import_graph(root: Path = PKG) -> dict[str, set[str]]:
    graph = {}
    for p in sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts):
        m = module_name(p, root)
        targets = {t for _, t in imported_modules(p.read_text(encoding="utf-8"), m, p.name == "__init__.py")}
        graph[m] = {t for t in targets if t != m and (m, t) not in ALLOWED}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(n: str, path: list[str]) -> list[str] | None:
        state[n] = 1
        for t in sorted(graph.get(n, ())):
            if state.get(t) == 1:
                return path[path.index(t) :] + [t]
            if t not in state and (c := visit(t, path + [t])):
                return c
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (c := visit(n, [n])):
            return c
    return None


def test_no_import_cycles():
    """Modules that import each other (as encoders/mobilenet and onnx_cnn did) cannot be read,
    tested or replaced one at a time; lazy imports count."""
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()) or [])
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_checker_catches_upward_imports_in_every_form():
    """The rule test above is only as good as the import resolution; these are the shapes it must catch
    (the first is the store -> search dependency this layering removed)."""
    src = (
        "from ..search.understand import infer_field_map\n"
        "def f():\n"
        "    from shoplens.engine import Engine\n"
        "import shoplens.cli.main\n"
        "from .. import engine\n"
    )
    got = violations(src, "shoplens.store.builder")
    assert [g.split(" imports ")[1].split(":")[0] for g in got] == [
        "shoplens.search.understand",
        "shoplens.engine",
        "shoplens.cli.main",
        "shoplens.engine",
    ]
    # downward and same-layer imports pass
    ok = "from ..preprocess.field_map import infer_field_map\nfrom .layout import publish\nfrom .. import __version__\n"
    assert violations(ok, "shoplens.store.builder") == []
    # evaluate must never reach the engine (it evaluates runs, whoever produced them)
    assert violations("from ..engine import Engine\n", "shoplens.evaluate.report")


def test_readme_sketch_names_every_layer():
    """The README's architecture sketch and this table describe the same layers."""
    readme = (PKG.parent / "README.md").read_text(encoding="utf-8")
    sketch = readme.split("## Architecture", 1)[1].split("```", 2)[1]
    present = {p for _, parts in LAYERS for p in parts if (PKG / p).is_dir() or (PKG / f"{p}.py").is_file()}
    missing = [p for p in sorted(present - {"__init__", "__main__"}) if p not in sketch]
    assert not missing, f"the README's architecture sketch does not mention {missing}"
