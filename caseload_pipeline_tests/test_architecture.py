"""The house rules of the package layout (docs/design.md), checked on the source:

* `core/` is the domain and imports nothing of Dagster, so it reads and tests on
  its own; `defs/` wires it into Dagster; the CLI sits on top.
* no module imports another's private (`_name`) helpers;
* no import cycle between the package's modules;
* docs/design.md names every module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import caseload_pipeline

PACKAGE = Path(caseload_pipeline.__file__).parent


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(name: str, path: Path) -> list[tuple[str, list[str], bool]]:
    """(imported module, names taken from it, at module level?) for each import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, [], id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((base, [a.name for a in node.names], id(node) in top_level))
    return found


def test_core_imports_no_dagster():
    modules = [m for m in _modules() if m.startswith("caseload_pipeline.core")]
    probe = ("import importlib, sys\n"
             f"for m in {modules!r}: importlib.import_module(m)\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('dagster', 'dagster_webserver', 'dagster_postgres')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout
    # and not even inside a function, where importing them all would not see it
    for name, path in _modules().items():
        if name.startswith("caseload_pipeline.core"):
            assert not [m for m, _, _ in _imports(name, path)
                        if m.split(".")[0].startswith("dagster")], name


def test_core_does_not_reach_up_into_defs_or_the_cli():
    for name, path in _modules().items():
        if name.startswith("caseload_pipeline.core"):
            up = [m for m, _, _ in _imports(name, path)
                  if m.startswith(("caseload_pipeline.defs", "caseload_pipeline.cli",
                                   "caseload_pipeline.definitions"))]
            assert not up, f"{name} imports {up}"


def test_no_module_imports_another_modules_private_names():
    offences = []
    for name, path in _modules().items():
        for module, names, _ in _imports(name, path):
            if module.startswith("caseload_pipeline") and module != name:
                offences += [f"{name}: {module}.{n}" for n in names if n.startswith("_")]
    assert not offences


def test_no_import_cycles_between_modules():
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for module, names, top in _imports(name, path):
            if not top:
                continue  # imports inside functions run later and cannot deadlock
            for candidate in [f"{module}.{n}" for n in names] + [module]:
                if candidate in modules and candidate != name:
                    edges.add(candidate)
                    break
        graph[name] = edges

    done, stack = set(), []

    def visit(node):
        if node in stack:
            cycle = stack[stack.index(node):] + [node]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        stack.append(node)
        for nxt in sorted(graph[node]):
            # a package's __init__ importing its own submodules is not a cycle
            if not nxt.startswith(node + "."):
                visit(nxt)
        stack.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)


def test_the_design_notes_name_every_module():
    """docs/design.md's layout is where a newcomer looks a module up: a module
    it does not name is one they cannot find. (The demo generator's and the SQL
    folder's modules are named by their folders.)"""
    layout = (PACKAGE.parent / "docs" / "design.md").read_text(encoding="utf-8")
    layout = layout[layout.index("## Layout"):layout.index("## Data folder")]
    unnamed = [str(path.relative_to(PACKAGE)) for path in sorted(PACKAGE.rglob("*.py"))
               if path.name not in ("__init__.py", "__main__.py")
               and not {"demo", "sql"} & set(path.relative_to(PACKAGE).parts[:-1])
               and path.name not in layout]
    assert unnamed == [], f"docs/design.md's layout does not name {unnamed}"
