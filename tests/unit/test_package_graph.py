"""Features meet at their public faces: the package graph has layers, and no import runs up.

Read from the source (every import, those inside functions included; `if TYPE_CHECKING:`
blocks excluded, as they never run). Core modules import no feature; a feature imports only
core modules and features below it; the wiring (the app factory and the registries) may
import anything. The few imports that still run upwards are listed in ALLOWED_UPWARDS, each
with its reason, and a listed import that no longer exists fails too, so the list only
shrinks.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

LMS = Path(__file__).resolve().parents[2] / "lms"

# Plumbing every feature shares; none of it imports a feature (nor the wiring).
CORE = {
    "bounds",
    "cli",  # the `flask lms` and `flask db` groups; features add their commands by name
    "clock",
    "config",
    "csv_reader",
    "csv_safe",
    "dates",
    "db",
    "errors",
    "faces",  # a feature's api.py: its public names, each imported when first asked for
    "features",  # the registries of feature modules, by name (imported by import_module)
    "forms",
    "i18n",  # the programme locale: catalogues, date and number formats (Babel, no Flask)
    "i18n_app",  # the locale chosen per request through flask-babel
    "image_checks",  # an uploaded PNG or SVG checked (and an SVG rebuilt) before it is stored
    "inert_files",  # an uploaded file sent back: no sniffing, no script, no caching
    "instance_settings",
    "jobs",
    "job_health",  # is background work getting done (the consumer's heartbeat, due work)
    "migrate",
    "orphan_files",  # stored files no row names: discarded after a commit, or swept later
    "paging",  # a page of a list, its neighbours' links, a search's LIKE pattern
    "pdf_pages",  # a PDF's first page drawn with PDFium, one drawing at a time per process
    "pg_cursor",
    "prepared",
    "private_files",
    "programme",
    "programme_images",  # signature and logo images by digest, served publicly
    "ratelimit",
    "ratelimit_storage",
    "read_models",  # rows kept by domain-event handlers, rewritten before commit (KeptRows)
    "refusals",
    "signals",
    "slow_clients",  # request bodies read within a bound (WSGI middleware)
    "status",
    "storage",  # uploaded files: the local folder or S3 behind one interface
    "uploads",  # an upload's bytes read within a cap, its name made safe to show
    "urls",
    "validation",
}
# Where the features are put together: the app factory, the schema's import point and the
# page chrome. They may import any feature; no feature imports them.
WIRING = {"__init__", "macros", "models", "navigation"}
# The features, bottom up: each may import those before it, never those after it.
LAYERS = (
    "audit",
    "auth",
    "catalog",
    "progress",
    "equivalency",
    "certificates",
    "offerings",
    "retreats",
    "evaluations",
    "mail",
    "training",
    "badges",  # reads certificates' public face; certificates signal it, never import it
    "admin",
    "demo",
)
# (importer, imported): why the import still runs upwards. Each is a debt to pay, not a rule.
ALLOWED_UPWARDS: dict[tuple[str, str], str] = {}


def _package(module: str) -> str:
    """`lms.progress.standings` -> `progress`; top-level modules are their own package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes inside `if TYPE_CHECKING:` blocks."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(inner) for inner in ast.walk(node))
    return hidden


def package_graph() -> dict[str, dict[str, list[str]]]:
    """Package -> {package it imports: [where]}, every import that runs counted."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(LMS.rglob("*.py")):
        source = _package("lms." + ".".join(path.relative_to(LMS).with_suffix("").parts))
        tree = ast.parse(path.read_text())
        hidden = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in hidden:
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "lms":
                    targets = [alias.name for alias in node.names]
                elif node.module.startswith("lms."):
                    targets = [_package(node.module)]
                else:
                    continue
            elif isinstance(node, ast.Import):
                targets = [_package(a.name) for a in node.names if a.name.startswith("lms.")]
            else:
                continue
            where = f"{path.relative_to(LMS.parent)}:{node.lineno}"
            for target in targets:
                if target != source:
                    graph[source][target].append(where)
    return graph


def test_every_package_has_a_place_in_the_layers() -> None:
    """A new package must be placed (core, wiring or a layer) before the rules can hold it."""
    known = CORE | WIRING | set(LAYERS)
    assert set(package_graph()) - known == set()
    assert {p.name for p in LMS.iterdir() if p.is_dir() and (p / "__init__.py").exists()} <= (
        set(LAYERS)
    )


def test_core_modules_import_no_feature_and_no_wiring() -> None:
    graph = package_graph()
    found = {
        f"{core} -> {target} ({where[0]})"
        for core in CORE
        for target, where in graph.get(core, {}).items()
        if target not in CORE
    }
    assert found == set()


def test_features_import_only_what_stands_below_them() -> None:
    graph = package_graph()
    rank = {name: n for n, name in enumerate(LAYERS)}
    found = set()
    for feature in LAYERS:
        for target, where in graph.get(feature, {}).items():
            if target in CORE:
                continue
            upwards = target in WIRING or rank[target] > rank[feature]
            if upwards and (feature, target) not in ALLOWED_UPWARDS:
                found.add(f"{feature} -> {target} ({', '.join(where[:3])})")
    assert found == set(), "import through a public face below, or send a signal upwards"


def test_every_allowed_upward_import_still_exists() -> None:
    """The allow-list only shrinks: an entry whose import is gone must be struck off."""
    graph = package_graph()
    stale = {pair for pair in ALLOWED_UPWARDS if pair[1] not in graph.get(pair[0], {})}
    assert stale == set()


def test_no_cycle_between_packages_outside_the_allow_list() -> None:
    """With the allowed upward imports set aside, the graph has no cycle at all."""
    graph = package_graph()
    edges = {
        source: {t for t in targets if (source, t) not in ALLOWED_UPWARDS and t != source}
        for source, targets in graph.items()
        if source not in WIRING
    }
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, " -> ".join((*path[path.index(node) :], node))
        if node in done:
            return
        for target in edges.get(node, ()):
            visit(target, (*path, node))
        done.add(node)

    for node in edges:
        visit(node, ())


def test_the_graph_is_read_from_the_source() -> None:
    """The scan sees real imports, those inside functions too (it can fail)."""
    graph = package_graph()
    assert "auth" in graph["progress"] and "db" in graph["auth"]
    assert "catalog" in graph["offerings"]
    assert "audit" not in graph or "auth" not in graph["audit"]  # TYPE_CHECKING only


# A feature reaches another only through its public face: its services.py (the rules and
# state changes) or its api.py (what else others may use: models, enums, helpers), or a
# signal. No exception: a models.py names the tables it points at through their faces too.


def _imports_past_public_faces(root: Path = LMS) -> list[str]:
    """`feature -> other.module (where)` for each import that skips the other's public face."""
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        source = parts[0] if len(parts) > 1 else ""
        if source not in LAYERS:
            continue
        tree = ast.parse(path.read_text())
        hidden = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in hidden or not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            module = node.module.split(".")
            if (
                len(module) >= 3
                and module[0] == "lms"
                and module[1] in LAYERS
                and module[1] != source
                and module[2] not in ("services", "api")
            ):
                found.append(f"{source} -> {'.'.join(module[1:])} ({path.name}:{node.lineno})")
    return found


def test_features_reach_each_other_only_through_their_public_faces() -> None:
    found = _imports_past_public_faces()
    assert found == [], "import it from the feature's services.py or api.py"


def test_the_public_face_scan_sees_real_imports(tmp_path: Path) -> None:
    """The scan can fail: an inner module's import is found (in a function too), a face's not."""
    (tmp_path / "progress").mkdir()
    (tmp_path / "progress" / "pages.py").write_text(
        "from lms.catalog.models import ItemKind\nfrom lms.catalog.api import ItemKind\n"
        "def f():\n    from lms.auth.tokens import new_token\n"
    )
    (tmp_path / "progress" / "models.py").write_text("from lms.auth.models import User\n")
    assert _imports_past_public_faces(tmp_path) == [
        "progress -> auth.models (models.py:1)",
        "progress -> catalog.models (pages.py:1)",
        "progress -> auth.tokens (pages.py:4)",
    ]


def test_every_public_face_offers_only_its_own_feature_and_every_name_resolves() -> None:
    """An api.py names what its own feature offers (it is no back door to another), and
    every name it offers is really there."""
    import importlib

    faces = sorted(LMS.glob("*/api.py"))
    assert faces, "the features have public faces"
    for api in faces:
        feature = api.parent.name
        modules = [
            node.value
            for node in ast.walk(ast.parse(api.read_text()))
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("lms.")
        ]
        assert modules and all(m.startswith(f"lms.{feature}.") for m in modules), api
        face = importlib.import_module(f"lms.{feature}.api")
        for name in face.__all__:
            assert getattr(face, name) is not None, f"{api}: {name}"
