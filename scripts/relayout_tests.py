#!/usr/bin/env python3
"""Lay tests/ out as the packages are (issue 12, item 5), with ``git mv``, and fix what refers to them.

Run from the repo root on a clean worktree, after every branch that touches tests/ is merged:

    .venv/bin/python scripts/relayout_tests.py --dry-run   # print the mapping, change nothing
    .venv/bin/python scripts/relayout_tests.py             # move, rewrite, check collection, commit

What it does, in order:

1. Decides a destination for every test file: ``FILES`` (one row per file known when this was
   written), else ``DIRS`` (a directory that moves whole), else the first-party module the file
   imports most (``BY_IMPORT``, longest prefix wins). Files decided by imports are printed: check them.
2. Helpers (modules that are not tests) follow their importers (an ``import``, or a module name
   in a string, as ``python -m tests.layer2.ndprobe``): all in one destination, they go there;
   under one directory, to that directory; otherwise, and when benchmarks import them, to
   ``tests/support`` (prefixed with the old directory's name unless it starts with it already).
   Data files (golden files, topologies) go where the files that name them go.
3. A conftest goes where the tests that use its fixtures go (their common directory); when that
   is ``tests/`` itself, its fixtures become ``tests/support/fixtures_<dir>.py`` and each
   destination's conftest imports them.
4. ``git mv`` everything, adds ``__init__.py`` to every new directory and to ``tests/`` itself (so
   that every test module is ``tests.<path>``: one name per module, no clash between
   ``tests/kube`` and ``tests/speaker/kube``), turns relative imports into absolute ones, rewrites
   module names (``tests.layer2.lab``) and paths (``tests/layer2/lab.py``) everywhere in the repo
   (Python, Markdown, TOML, shell, YAML), fixes ``Path(__file__).parents[N]`` for the new depth,
   and removes the benchmarks' ``sys.path.insert`` lines (``scripts/setup.sh`` puts the repo root
   on the venv's path).
5. Runs ``ruff check --fix`` and ``ruff format`` on what it touched, compares ``pytest --collect-only
   -q`` before and after (the count must not change), and commits (unless ``--no-commit``).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
TESTS = "tests"

# Directories that move whole (old -> new, under tests/).
DIRS = {
    "allocator": "allocator",
    "bfd": "speaker/bfd",
    "children": "speaker/supervision",
    "cli": "cli",
    "cluster": "cluster",
    "config": "config",
    "controller": "controller",
    "convert": "metallb",
    "e2e": "e2e",
    "install": "install",
    "kube_tests": "kube",
    "kubeapi": "support/kubeapi",  # the HTTP double: a helper package that tests and benchmarks share
    "kubeapi_tests": "kube/double",
    "lab": "lab",
    "live": "live",
    "programs": "programs",
    "resources": "config/resources",
    "scripts": "scripts",
    "speaker_kube": "speaker/kube",
    "statusobjects": "statusobjects",
    "support": "support",
}

# Test files whose directory holds more than one concept (or that test another package than
# their directory's): decided one by one, by what they import and exercise.
FILES = {
    "allocator/test_alloc_plan_cli.py": "planner",  # ironlb plan (cli.plan), golden plan-*.json
    "bgp/test_bgp_bird_netns.py": "speaker/bgp",
    "bgp/test_bgp_dual_stack_netns.py": "speaker/bgp",
    "bgp/test_bgp_frr_netns.py": "speaker/bgp",
    "bgp/test_bgp_md5_ibgp_netns.py": "speaker/bgp",
    "bgp/test_exabgp_golden.py": "speaker/bgp",
    "bgp/test_exabgp_orphans.py": "speaker/bgp",
    "bgp/test_exabgp_supervision.py": "speaker/bgp",
    "bgp/test_plan_advertisements.py": "planner",
    "bgp/test_plan_bgp.py": "planner",
    "bgp/test_route_advertisements.py": "speaker/bgp",  # decide + the ExaBGP backend's rendering
    "bgp/test_route_decision.py": "announce",
    "bgp/test_speaker_death_netns.py": "speaker/bgp",
    "config/test_validate_cli.py": "cli",
    "layer2/test_advertisements.py": "speaker/layer2",
    "layer2/test_eligibility.py": "announce",
    "layer2/test_frames.py": "speaker/layer2",
    "layer2/test_gratuitous.py": "speaker/layer2",
    "layer2/test_interfaces.py": "speaker/layer2",
    "layer2/test_membership_udp.py": "speaker/membership",
    "layer2/test_netns.py": "speaker/layer2",
    "layer2/test_netns_loss.py": "speaker/layer2",
    "layer2/test_netns_partition.py": "speaker/layer2",
    "layer2/test_options.py": "speaker",
    "layer2/test_ownership.py": "announce",
    "layer2/test_ownership_partitions.py": "announce",
    "layer2/test_plan.py": "planner",
    "layer2/test_rejoin.py": "speaker/layer2",
    "layer2/test_responder.py": "speaker/layer2",
    "layer2/test_speaker_core.py": "speaker",
    "layer2/test_swim.py": "speaker/membership",
    "layer2/test_swim_isolation.py": "speaker/membership",
}

# Helpers at the top of tests/: into the one test-support package.
TOP = {
    "golden.py": "support/golden.py",
    "objects.py": "support/objects.py",
    "processes.py": "support/processes.py",
    "waiting.py": "support/waiting.py",
}

# Fallback for a test file neither table knows: the package it imports most (longest prefix).
BY_IMPORT = {
    "speaker.membership": "speaker/membership",
    "speaker.layer2": "speaker/layer2",
    "speaker.bgp": "speaker/bgp",
    "speaker.bfd": "speaker/bfd",
    "speaker": "speaker",
    "ironlb.announce": "announce",
    "ironlb.planner": "planner",
    "ironlb.allocator": "allocator",
    "ironlb.config.resources": "config/resources",
    "ironlb.config": "config",
    "ironlb.metallb": "metallb",
    "ironlb.kube": "kube",
    "ironlb.statusobjects": "statusobjects",
    "ironlb.programs": "programs",
    "ironlb.lab": "lab",
    "ironlb.cli": "cli",
    "ironlb.live": "live",
    "controller": "controller",
}

TEXT_SUFFIXES = {".py", ".md", ".toml", ".sh", ".yml", ".yaml", ".txt", ".cfg", ".ini"}


def git(*args: str, capture: bool = False) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, check=True, text=True, capture_output=capture)
    return out.stdout if capture else ""


def tracked() -> list[str]:
    return [p for p in git("ls-files", capture=True).splitlines() if (ROOT / p).exists()]


def module_of(path: str) -> str:
    """``tests/layer2/lab.py`` -> ``tests.layer2.lab``; a package's ``__init__.py`` -> the package."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(text: str, path: str) -> list[str]:
    """Absolute names of the modules ``text`` imports (relative imports resolved against ``path``)."""
    out: list[str] = []
    package = module_of(path).split(".")
    if not path.endswith("__init__.py"):
        package = package[:-1]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join([*base, *([node.module] if node.module else [])])
            out.append(mod)
            out += [f"{mod}.{a.name}" for a in node.names]
    return out


def by_import(text: str, path: str) -> str | None:
    counts: dict[str, int] = defaultdict(int)
    for name in imports_of(text, path):
        best = max((p for p in BY_IMPORT if name == p or name.startswith(p + ".")), key=len, default=None)
        if best:
            counts[best] += 1
    if not counts:
        return None
    return BY_IMPORT[max(counts, key=lambda p: (counts[p], len(p)))]


class Plan:
    def __init__(self, files: list[str]) -> None:
        self.files = [f for f in files if f.startswith(TESTS + "/")]
        self.text = {f: _absolute_imports((ROOT / f).read_text(), f) for f in self.files if f.endswith(".py")}
        self.moves: dict[str, str] = {}  # old path -> new path (files)
        self.why: dict[str, str] = {}
        self.fixture_modules: dict[str, list[str]] = {}  # new fixtures module -> destination dirs
        self.problems: dict[str, None] = {}  # ordered, each once

    def _problem(self, text: str) -> None:
        self.problems[text] = None

    # -- deciding ---------------------------------------------------------------------------------

    def decide(self) -> None:
        tests = [f for f in self.files if PurePosixPath(f).name.startswith("test_") and f.endswith(".py")]
        for f in tests:
            rel = f[len(TESTS) + 1 :]
            head = rel.split("/")[0]
            if rel in FILES:
                dest, why = FILES[rel], "table"
            elif head in DIRS and rel.count("/") >= 1:
                dest, why = DIRS[head], "directory"
            else:
                dest, why = by_import(self.text[f], f) or head, "imports"
            self._move(f, f"{TESTS}/{dest}/{PurePosixPath(f).name}", why)
        for name, to in TOP.items():
            if f"{TESTS}/{name}" in self.files:
                self._move(f"{TESTS}/{name}", f"{TESTS}/{to}", "table")
        self._helpers()
        self._conftests()
        self._data()
        self._inits()

    def _move(self, old: str, new: str, why: str) -> None:
        if old != new:
            self.moves[old] = new
        self.why[old] = why

    def dest_dir(self, f: str) -> str:
        return str(PurePosixPath(self.moves.get(f, f)).parent)

    def _helpers(self) -> None:
        """Non-test modules follow their importers (tests, helpers, benchmarks; strings count)."""
        helpers = [
            f
            for f in self.files
            if f.endswith(".py")
            and not PurePosixPath(f).name.startswith("test_")
            and PurePosixPath(f).name not in ("conftest.py", "__init__.py")
            and f.count("/") >= 2
        ]
        whole = {f for f in helpers if f.split("/")[1] in DIRS and DIRS[f.split("/")[1]] == f.split("/")[1]}
        package_dirs = {f"{TESTS}/{d}" for d, to in DIRS.items() if to.startswith("support/")}
        bench = {
            p: (ROOT / p).read_text() for p in tracked() if p.startswith("benchmarks/") and p.endswith(".py")
        }
        for _ in range(3):  # a helper imported only by helpers follows them once they are placed
            for f in helpers:
                top = "/".join(f.split("/")[:2])
                if top in package_dirs:  # the HTTP double: moves whole
                    self._move(f, f.replace(top, f"{TESTS}/{DIRS[f.split('/')[1]]}", 1), "directory")
                    continue
                if f in whole:
                    continue
                users = self._users(module_of(f), exclude=f)
                dests = {self.dest_dir(u) for u in users}
                benched = any(self._mentions(t, module_of(f)) for t in bench.values())
                name = PurePosixPath(f).name
                if not dests and not benched:
                    head = f.split("/")[1]
                    dest = f"{TESTS}/{DIRS[head]}" if head in DIRS else f"{TESTS}/support"
                    if head not in DIRS:
                        self._problem(f"{f}: no importer found; put in tests/support")
                elif len(dests) == 1 and not benched:
                    dest = next(iter(dests))
                else:
                    common = _common(dests) if dests else TESTS
                    dest = common if common != TESTS and not benched else f"{TESTS}/support"
                if dest == f"{TESTS}/support":
                    old_dir = f.split("/")[1]
                    name = name if name.startswith(old_dir) else f"{old_dir}_{name}"
                self._move(f, f"{dest}/{name}", "importers")

    def _users(self, module: str, exclude: str) -> list[str]:
        return [
            u
            for u, t in self.text.items()
            if u != exclude and PurePosixPath(u).name != "conftest.py" and self._mentions(t, module, u)
        ]

    @staticmethod
    def _mentions(text: str, module: str, path: str | None = None) -> bool:
        if re.search(rf"\b{re.escape(module)}\b", text):
            return True
        if path is not None:  # a relative import of a sibling module
            return module in imports_of(text, path)
        return False

    def _conftests(self) -> None:
        for f in [f for f in self.files if PurePosixPath(f).name == "conftest.py" and f.count("/") >= 2]:
            old_dir = str(PurePosixPath(f).parent)
            fixtures = _fixture_names(self.text[f])
            users = [
                u
                for u, t in self.text.items()
                if str(PurePosixPath(u).parent) == old_dir
                and u != f
                and any(re.search(rf"\b{n}\b", t) for n in fixtures)
            ]
            head = old_dir.split("/")[1]
            dests = {self.dest_dir(u) for u in users} or {f"{TESTS}/{DIRS.get(head, head)}"}
            common = _common(dests)
            if common != TESTS and not any(self.moves.get(o) == f"{common}/conftest.py" for o in self.moves):
                self._move(f, f"{common}/conftest.py", "fixture users")
            else:
                module = f"{TESTS}/support/fixtures_{old_dir.split('/')[-1]}.py"
                self._move(f, module, "fixtures of a split directory")
                self.fixture_modules[module] = sorted(dests)

    def _data(self) -> None:
        """Data files go where the files naming them go (a name, or an f-string's pattern)."""
        data = [f for f in self.files if not f.endswith(".py") and f.count("/") >= 2]
        for f in data:
            p = PurePosixPath(f)
            top = "/".join(f.split("/")[:2])
            sub = str(p.relative_to(top))  # "golden/x.txt" or "two-segments.clab.yml"
            near = {u: t for u, t in self.text.items() if u.startswith(top + "/")}
            users = [u for u, t in near.items() if f'"{p.name}"' in t or f"'{p.name}'" in t]
            users = users or [
                u for u, t in near.items() if any(_matches(pat, p.name) for pat in _fstrings(t))
            ]
            users = users or [u for u, t in near.items() if p.name in t]
            if not users and "golden" in p.parts:
                users = [u for u, t in near.items() if "golden" in t]
            dests = {self.dest_dir(u) for u in users}
            if len(dests) > 1:
                self._problem(f"{f}: named by files going to {sorted(dests)}; kept with the first")
            if dests:
                dest = sorted(dests)[0]
            else:
                head = f.split("/")[1]
                dest = f"{TESTS}/{DIRS.get(head, head)}"
            self._move(f, f"{dest}/{sub}", "named by")

    def _inits(self) -> None:
        """Old ``__init__.py`` files are dropped; ``apply`` writes one per new directory."""
        for f in self.files:
            if PurePosixPath(f).name == "__init__.py" and f.count("/") == 2:
                head = f.split("/")[1]
                to = DIRS.get(head)
                if to is not None and to != head:
                    self._move(f, f"{TESTS}/{to}/__init__.py", "directory")
                elif to is None:
                    self.moves[f] = ""  # deleted: its directory empties

    def check(self) -> None:
        seen: dict[str, str] = {}
        for old, new in self.moves.items():
            if new and new in seen:
                self._problem(f"{new}: both {seen[new]} and {old} go there")
            seen[new] = old
            if new and (ROOT / new).exists() and new not in self.moves:
                self._problem(f"{new}: exists already ({old} would replace it)")

    # -- doing ------------------------------------------------------------------------------------

    def apply(self) -> list[str]:
        renames = {
            module_of(o): module_of(n)
            for o, n in self.moves.items()
            if n and o.endswith(".py") and not o.endswith("__init__.py")
        }
        for head, to in DIRS.items():  # whole packages (``from tests.kubeapi import X``)
            if to != head and (ROOT / TESTS / head).is_dir():
                renames.setdefault(f"{TESTS}.{head}", f"{TESTS}.{to.replace('/', '.')}")
        paths = {o: n for o, n in self.moves.items() if n}
        # 1. relative imports -> absolute, while files are where the imports were written
        for f in self.text:
            _write(f, _absolute_imports(self.text[f], f))
        # 2. move
        for old, new in sorted(self.moves.items()):
            if not new:
                git("rm", "-q", old)
                continue
            (ROOT / new).parent.mkdir(parents=True, exist_ok=True)
            git("mv", old, new)
        # 3. packages: tests/ and every directory holding a test module
        touched: set[str] = set(paths.values())
        for d in sorted({str(PurePosixPath(n).parent) for n in paths.values() if n.endswith(".py")}):
            parts = PurePosixPath(d).parts
            for i in range(1, len(parts) + 1):
                init = ROOT / Path(*parts[:i]) / "__init__.py"
                if not init.exists():
                    init.write_text("")
                    git("add", str(init.relative_to(ROOT)))
        # 4. fixtures of split directories, imported by each destination's conftest
        for module, dests in self.fixture_modules.items():
            names = _fixture_names((ROOT / module).read_text())
            for d in dests:
                conftest = ROOT / d / "conftest.py"
                line = f"from {module_of(module)} import {', '.join(names)}  # noqa: F401\n"
                if conftest.exists():
                    conftest.write_text(conftest.read_text() + "\n" + line)
                else:
                    conftest.write_text(f'"""Fixtures shared with other directories."""\n\n{line}')
                git("add", str(conftest.relative_to(ROOT)))
                touched.add(str(conftest.relative_to(ROOT)))
        # 5. module names, paths and depths everywhere
        for f in tracked():
            if Path(f).suffix not in TEXT_SUFFIXES and Path(f).name != "Makefile":
                continue
            if (ROOT / f).resolve() == Path(__file__).resolve():
                continue
            text = (ROOT / f).read_text()
            new = _rename_modules(text, renames)
            new = _rename_paths(new, paths)
            if f in paths.values():
                old = next(o for o, n in paths.items() if n == f)
                new = _fix_depth(new, old.count("/") - f.count("/"))
            if f.startswith("benchmarks/") and "sys.path.insert" in new:
                new = _benchmark_imports(new)
            if new != text:
                _write(f, new)
                touched.add(f)
        self._drop_empty_dirs()
        return sorted(t for t in touched if t.endswith(".py") and (ROOT / t).exists())

    def _drop_empty_dirs(self) -> None:
        """Old directories that hold nothing tracked any more (only ``__pycache__`` left)."""
        left = {str(PurePosixPath(f).parent) for f in tracked()}
        for old in sorted({str(PurePosixPath(o).parent) for o in self.moves}, key=len, reverse=True):
            folder = ROOT / old
            if folder.is_dir() and not any(d == old or d.startswith(old + "/") for d in left):
                for cache in folder.rglob("__pycache__"):
                    shutil.rmtree(cache, ignore_errors=True)
                with contextlib.suppress(OSError):
                    for sub in sorted(folder.rglob("*"), key=lambda q: len(q.parts), reverse=True):
                        sub.rmdir()
                    folder.rmdir()

    def report(self) -> str:
        by_dest: dict[str, list[str]] = defaultdict(list)
        for old, new in sorted(self.moves.items()):
            by_dest[str(PurePosixPath(new).parent) if new else "(deleted)"].append(
                f"{old} [{self.why.get(old, 'init')}]"
            )
        lines = []
        for d in sorted(by_dest):
            lines.append(f"{d}/  <- {len(by_dest[d])}")
            lines += [f"    {x}" for x in by_dest[d]]
        decided = [o for o, w in self.why.items() if w == "imports"]
        if decided:
            lines.append("decided by imports (check them, then add them to FILES): " + ", ".join(decided))
        lines += [f"problem: {p}" for p in self.problems]
        return "\n".join(lines)


def _common(dirs: set[str]) -> str:
    parts = [PurePosixPath(d).parts for d in dirs]
    out = []
    for group in zip(*parts, strict=False):
        if len(set(group)) != 1:
            break
        out.append(group[0])
    return "/".join(out)


def _fixture_names(text: str) -> list[str]:
    names = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            is_fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
            if is_fixture or node.name.startswith("pytest_"):
                names.append(node.name)
    return names


def _fstrings(text: str) -> list[str]:
    return re.findall(r'f"([^"{]*\{[^"]*)"', text)


def _matches(pattern: str, name: str) -> bool:
    """Whether an f-string's text (``plan-{Path(sample).stem}.txt``) can produce ``name`` (one with
    at least four characters of its own: ``{x}`` alone names nothing)."""
    if len(re.sub(r"\{[^}]*\}", "", pattern)) < 4:
        return False
    regex = re.sub(r"\\\{[^}]*\\\}", ".+", re.escape(pattern))
    return re.fullmatch(regex, name) is not None


def _absolute_imports(text: str, path: str) -> str:
    """Relative imports (``from .lab import``), and bare ones of a sibling module in a directory
    without ``__init__.py`` (``from bgp_lab import``, pytest's rootdir-relative import), made absolute."""
    package = module_of(path).split(".")
    if not path.endswith("__init__.py"):
        package = package[:-1]
    folder = (ROOT / path).parent
    if not (folder / "__init__.py").exists():
        siblings = sorted(q.stem for q in folder.glob("*.py") if q.name != PurePosixPath(path).name)
        if siblings:
            names = "|".join(map(re.escape, siblings))
            prefix = ".".join(package)
            text = re.sub(rf"^(\s*)from ({names}) import", rf"\1from {prefix}.\2 import", text, flags=re.M)
            text = re.sub(rf"^(\s*)import ({names})$", rf"\1import {prefix}.\2 as \2", text, flags=re.M)

    def repl(m: re.Match[str]) -> str:
        dots, rest = m.group(2), m.group(3)
        base = ".".join(package[: len(package) - len(dots) + 1])
        mod = f"{base}.{rest}" if rest else base
        return f"{m.group(1)}from {mod} import"

    return re.sub(r"^(\s*)from (\.+)([\w.]*) import", repl, text, flags=re.M)


def _replace_all(text: str, table: dict[str, str], before: str, after: str) -> str:
    """Every key of ``table`` replaced at once (longest first), so no new name is renamed again."""
    if not table:
        return text
    alternation = "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True))
    return re.sub(rf"(?<!{before})({alternation})(?!{after})", lambda m: table[m.group(1)], text)


def _rename_modules(text: str, renames: dict[str, str]) -> str:
    return _replace_all(text, renames, r"[\w.]", r"\w")


def _rename_paths(text: str, paths: dict[str, str]) -> str:
    text = _replace_all(text, paths, r"[\w/]", r"\w")
    # a directory named in prose: tests/kube_tests -> tests/kube
    dirs = {f"{TESTS}/{h}": f"{TESTS}/{to}" for h, to in DIRS.items() if to != h}
    return _replace_all(text, dirs, r"[\w/]", r"\w")


def _benchmark_imports(text: str) -> str:
    """Without ``sys.path.insert``, the constants that stood before the ``# noqa: E402`` imports go
    after them, and the noqa comments go."""
    text = re.sub(r"^sys\.path\.insert\(0, [^\n]*\)[^\n]*\n", "", text, flags=re.M)
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.endswith("# noqa: E402")), None)
    if first is None:
        return text
    start = first
    while start > 0 and (re.match(r"^[A-Z_]+ = ", lines[start - 1]) or not lines[start - 1].strip()):
        start -= 1
    constants = [line for line in lines[start:first] if line.strip()]
    end = first
    while end < len(lines) and (
        lines[end].endswith("# noqa: E402") or lines[end].startswith((" ", ")")) or not lines[end].strip()
    ):
        end += 1
    imports = [line.replace("  # noqa: E402", "") for line in lines[first:end] if line.strip()]
    lines[start:end] = ["", *imports, "", *constants, "", ""]
    return "\n".join(lines)


def _fix_depth(text: str, delta: int) -> str:
    """``Path(__file__)...parents[N]`` reaches the same directory from the new depth."""
    if delta == 0:
        return text

    def repl(m: re.Match[str]) -> str:
        return f"{m.group(1)}parents[{int(m.group(2)) - delta}]"

    return re.sub(r"(Path\(__file__\)[\w.()]*?\.)parents\[(\d+)\]", repl, text)


def _write(path: str, text: str) -> None:
    (ROOT / path).write_text(text)


def stale_mentions(plan: Plan) -> list[str]:
    """Lines that still name a directory that is gone (a split one: ``tests/layer2``, ``tests.bgp``)."""
    gone = {f.split("/")[1] for f in plan.moves if f.count("/") >= 2} - {
        f.split("/")[1] for f in tracked() if f.startswith(TESTS + "/") and f.count("/") >= 2
    }
    if not gone:
        return []
    pattern = re.compile(rf"(?<![\w/.]){TESTS}[/.]({'|'.join(map(re.escape, sorted(gone)))})(?!\w)")
    out = []
    for f in tracked():
        if Path(f).suffix in TEXT_SUFFIXES and (ROOT / f).resolve() != Path(__file__).resolve():
            for n, line in enumerate((ROOT / f).read_text().splitlines(), 1):
                if pattern.search(line):
                    out.append(f"{f}:{n}: {line.strip()[:120]}")
    return out


def collected() -> int:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        text=True,
        capture_output=True,
    )
    m = re.search(r"(\d+) tests? collected", out.stdout) or re.search(r"^(\d+) tests?", out.stdout, re.M)
    if m is None or out.returncode not in (0, 5):
        sys.exit(f"collection failed:\n{out.stdout[-4000:]}{out.stderr[-2000:]}")
    return int(m.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dry-run", action="store_true", help="print the mapping; change nothing")
    parser.add_argument("--no-commit", action="store_true", help="leave the result uncommitted")
    args = parser.parse_args()
    if not args.dry_run and git("status", "--porcelain", capture=True).strip():
        sys.exit("the worktree has uncommitted changes: commit or stash them first")
    plan = Plan(tracked())
    plan.decide()
    plan.check()
    print(plan.report())
    if args.dry_run:
        return 0
    if plan.problems and any("both" in p or "exists" in p for p in plan.problems):
        sys.exit("refusing: two files would land on one path")
    before = collected()
    touched = plan.apply()
    ruff = [str(ROOT / ".venv/bin/ruff")] if (ROOT / ".venv/bin/ruff").exists() else ["ruff"]
    # relative imports made absolute change the import order of files that did not move: all of them
    subprocess.run([*ruff, "check", "-q", "--fix", "tests", "benchmarks"], cwd=ROOT, check=False)
    subprocess.run([*ruff, "format", "-q", "tests", "benchmarks", *touched], cwd=ROOT, check=True)
    git("add", "-A", "tests", "benchmarks")
    git("add", "-u")
    after = collected()
    print(f"pytest --collect-only: {before} tests before, {after} after")
    for line in stale_mentions(plan):
        print(f"still names an old directory (edit by hand): {line}")
    if after != before:
        sys.exit("the collection changed: inspect with git status / git diff, reset with git reset --hard")
    if not args.no_commit:
        git("commit", "-q", "-m", "tests: lay tests out as the packages are (scripts/relayout_tests.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
