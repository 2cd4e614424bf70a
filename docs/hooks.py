"""MkDocs hook: builds the API reference pages from the package and checks that every public name is documented.

The reference is generated at build time, so a module added to tfnas shows up
without anyone editing a page: `reference/tfnas.md` renders the public
modules at the top of the package, `reference/<subpackage>.md` those of one
subpackage (a module is public when no part of its dotted name starts with
`_`). After the build, every name in `tfnas.__all__` and in each
subpackage's `__all__` must have a docstring and a rendered heading, and so
must the public methods and properties of those classes (an override of a
Keras or keras-tuner method is documented there). Each failure is logged as
a warning, so `mkdocs build --strict` fails on it.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import logging
import os
import pkgutil
from typing import Any

from mkdocs.structure.files import File
from mkdocs.structure.files import Files

log = logging.getLogger("mkdocs.hooks.tfnas")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "tfnas")
INTRO = {
    "tfnas": "The modules at the top of the package: the search, its results, the engine's plain data and errors.",
    "app": "The `tfnas` command, YAML configs and data sources (see the [YAML config and CLI](../guides/config-cli.md) guide).",
    "testing": "Contract cases and helpers reused by the test suite (and the notebook runner); not needed to use tfnas.",
}


def public_modules(package: str) -> list[str]:
    """The dotted names of the public modules under `package` (its own `__init__` first), sorted."""
    path = os.path.join(ROOT, *package.split("."))
    names = [package]
    for info in pkgutil.walk_packages([path], package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names, key=lambda n: (n != package, n))


def top_level_modules() -> list[str]:
    """Public modules directly under `tfnas/` (not subpackages)."""
    return sorted(
        f"tfnas.{name[:-3]}" for name in os.listdir(PACKAGE)
        if name.endswith(".py") and not name.startswith("_")
    )


def subpackages() -> list[str]:
    """The subpackages of tfnas, by folder name."""
    return sorted(
        name for name in os.listdir(PACKAGE)
        if os.path.isfile(os.path.join(PACKAGE, name, "__init__.py")) and not name.startswith("_")
    )


def _directive(module: str, heading_level: int = 2) -> str:
    return f"::: {module}\n    options:\n      heading_level: {heading_level}\n"


def reference_page(name: str) -> str:
    """The Markdown of one reference page: `tfnas` (top-level modules) or one subpackage."""
    if name == "tfnas":
        modules = top_level_modules()
        lines = ["# tfnas: top-level modules", "", INTRO["tfnas"], ""]
    else:
        modules = public_modules(f"tfnas.{name}")
        lines = [f"# tfnas.{name}", ""]
        if name in INTRO:
            lines += [INTRO[name], ""]
    exported = public_names().get(f"tfnas.{name}", [])
    if exported:
        lines += [f"Public names (`tfnas.{name}.__all__`): " + ", ".join(f"[`{n}`][{path}]" for n, path, _ in exported) + ".", ""]
    lines += ["Modules on this page: " + ", ".join(f"[`{m}`](#{m})" for m in modules) + ".", ""]
    lines += [_directive(m) for m in modules]
    return "\n".join(lines)


# Files of the checkout the pages link to, served as they are: the benchmark scripts, their results, the example configs.
STATIC = ("benchmarks", "benchmarks/results", "examples")


def index_page() -> str:
    """The Markdown of `reference/index.md`: what `import tfnas` offers, each name linked to its documentation."""
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings at build time (`docs/hooks.py`). `import tfnas` gives the names below",
        "(each imported on first use, so the import itself loads no TensorFlow); every subpackage has a page",
        "with its public names and its public modules (those whose dotted name has no part starting with `_`).",
        "",
        "::: tfnas",
        "    options:",
        "      members: false",
        "      show_root_heading: false",
        "",
        "| `tfnas.` name | documented at |",
        "|---|---|",
    ]
    pages = {f"tfnas.{s}": f"{s}.md" for s in subpackages()}
    for name, path, _ in public_names()["tfnas"]:
        target = f"[`{path}`]({pages[path]})" if path in pages else f"[`{path}`][{path}]"
        lines.append(f"| `{name}` | {target} |")
    listed = [("tfnas (top-level modules)", "tfnas.md"), *pages.items()]
    lines += ["", "Pages: " + ", ".join(f"[`{m}`]({page})" for m, page in listed) + "."]
    return "\n".join(lines) + "\n"


def on_files(files: Files, config: Any) -> Files:
    """Adds the generated reference pages and the checkout's benchmark scripts, results and example configs."""
    files.append(File.generated(config, "reference/index.md", content=index_page()))
    for name in ["tfnas", *subpackages()]:
        uri = f"reference/{name}.md"
        if files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, content=reference_page(name)))
    for folder in STATIC:
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if os.path.isfile(os.path.join(ROOT, folder, name)) and not name.endswith(".tmp"):
                files.append(File(f"{folder}/{name}", ROOT, config["site_dir"], config["use_directory_urls"]))
    return files


@functools.lru_cache(maxsize=1)
def public_names() -> dict[str, list[tuple[str, str, Any]]]:
    """`tfnas` and each subpackage -> its `__all__` as (name, the path it is rendered at, the object)."""
    names: dict[str, list[tuple[str, str, Any]]] = {}
    for package in ["tfnas", *(f"tfnas.{s}" for s in subpackages())]:
        module = importlib.import_module(package)
        sources = _import_sources(package)
        names[package] = [
            (name, _rendered_path(getattr(module, name), name, sources), getattr(module, name))
            for name in getattr(module, "__all__", ())
        ]
    return names


def _import_sources(package: str) -> dict[str, str]:
    """Name -> the module an `__init__` imports it from (`from M import name`, or a lazy `_EXPORTS` table)."""
    with open(os.path.join(ROOT, *package.split("."), "__init__.py")) as f:
        tree = ast.parse(f.read())
    sources: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            sources.update({alias.asname or alias.name: node.module for alias in node.names})
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_EXPORTS" for t in node.targets):
            sources.update(ast.literal_eval(node.value))
    return sources


def _rendered_path(value: Any, name: str, sources: dict[str, str]) -> str:
    if inspect.ismodule(value):
        return value.__name__
    if inspect.isclass(value) or inspect.isfunction(value):
        return f"{value.__module__}.{value.__qualname__}"
    return f"{sources[name]}.{name}"  # a constant: where its package imports it from


def undocumented(path: str, value: Any) -> list[str]:
    """`path` and those of its public methods and properties that have no docstring (framework overrides excepted)."""
    if not (inspect.ismodule(value) or inspect.isclass(value) or inspect.isfunction(value)):
        return []  # constants are documented by their module
    missing = [] if inspect.getdoc(value) else [path]
    if inspect.isclass(value):
        for attr, member in vars(value).items():
            routine = inspect.isfunction(member) or isinstance(member, (property, classmethod, staticmethod))
            if attr.startswith("_") or not routine:
                continue
            if not _doc_of(value, attr) and not _overrides_framework(value, attr):
                missing.append(f"{path}.{attr}")
    return missing


def _doc_of(cls: type, attr: str) -> str | None:
    """The docstring of `cls.attr` or of the first base that documents it."""
    for klass in cls.__mro__:
        member = vars(klass).get(attr)
        if member is not None:
            doc = getattr(getattr(member, "__func__", member), "__doc__", None)
            if doc:
                return doc
    return None


def _overrides_framework(cls: type, attr: str) -> bool:
    """Whether a base outside tfnas (Keras, keras-tuner, object) defines `attr`: its meaning is documented there."""
    return any(attr in vars(base) and not base.__module__.startswith("tfnas") for base in cls.__mro__[1:])


def on_post_build(config: Any) -> None:
    """Warns (fails a strict build) for each public name without a docstring or without a rendered heading."""
    site = config["site_dir"]
    html = ""
    for folder, _, files in os.walk(os.path.join(site, "reference")):
        for file in files:
            if file.endswith(".html"):
                with open(os.path.join(folder, file), encoding="utf-8") as f:
                    html += f.read()
    names = {path: value for exported in public_names().values() for _, path, value in exported}
    for path, value in sorted(names.items()):
        for missing in undocumented(path, value):
            log.warning("tfnas: public name without a docstring: %s", missing)
        if f'id="{path}"' not in html:
            log.warning("tfnas: public name not rendered in the API reference: %s", path)
    log.info("tfnas: checked %d public names", len(names))
