"""The shape of lib: each part imports only the layers below it, and no two public functions
share a name (so that a name in a notebook means one thing)."""
import ast
from collections import defaultdict

from lib.study import paths

LIB = paths.REPO_ROOT / "lib"
# What each part may import besides itself; the machinery imports none of the parts.
ALLOWED = {
    "study": set(),
    "data": {"study"},
    "explain": {"study"},
    "detection": {"study", "data", "explain"},
    "classification": {"study", "data", "explain"},
}
# One interface implemented by several modules on purpose: each generator's render(class, seed, size).
PROTOCOLS = {"render"}


def modules():
    for path in sorted(LIB.rglob("*.py")):
        parts = path.relative_to(LIB).parts
        if len(parts) > 1:
            yield parts[0], path, ast.parse(path.read_text())


def lib_imports(path, tree):
    """The parts of lib a module imports (relative imports resolved against its package)."""
    package = path.relative_to(LIB).parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "lib":
                target = node.module.split(".")[1:]
            else:
                continue
            yield target[0] if target else None, node.lineno


def test_every_module_lives_in_a_part():
    assert {p.name for p in LIB.glob("*.py")} == {"__init__.py"}
    assert {part for part, _, _ in modules()} == set(ALLOWED)


def test_imports_run_one_way():
    wrong = [f"{path.relative_to(LIB)}:{line} imports lib.{target}"
             for part, path, tree in modules() for target, line in lib_imports(path, tree)
             if target != part and target not in ALLOWED[part]]
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_public_function_names_are_unique():
    where = defaultdict(list)
    for _, path, tree in modules():
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                where[node.name].append(str(path.relative_to(LIB)))
    shared = {name: files for name, files in where.items() if len(files) > 1 and name not in PROTOCOLS}
    assert not shared, f"public functions defined more than once: {shared}"
