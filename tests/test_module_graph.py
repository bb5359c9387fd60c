"""No module of medscale imports another module's private name (``from x import _name``).

The layering and the absence of import cycles are import-linter contracts (pyproject.toml,
run by ``make lint``); this is the part of "no private names across modules" they do not see.
"""

from __future__ import annotations

import ast
from pathlib import Path

import medscale

SOURCE = Path(medscale.__file__).parent


def private_imports(root: Path) -> list[str]:
    """``"<module>:<line> from <other> import <_name>"`` for each such import under `root`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        module = ".".join(("medscale", *path.relative_to(root).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.module in (None, module):
                continue
            if not node.module.startswith("medscale"):
                continue
            found += [
                f"{module}:{node.lineno} from {node.module} import {alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    return found


def test_no_private_name_is_imported_across_modules():
    assert private_imports(SOURCE) == []


def test_the_check_sees_a_private_import(tmp_path):
    (tmp_path / "a.py").write_text("from medscale.segment.region import _hidden\n")
    (tmp_path / "b.py").write_text("from medscale.b import _own  # its own name\n")
    assert private_imports(tmp_path) == ["medscale.a:1 from medscale.segment.region import _hidden"]
