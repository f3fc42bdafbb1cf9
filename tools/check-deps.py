#!/usr/bin/python3
"""Fails when the build or the tools use something that a fresh machine would not have.

A fresh Debian 12 machine gets exactly the packages that tools/install-deps.sh names, and what
those packages depend on. This check reads what a finished build really used and maps every
file to the Debian package that owns it (dpkg -S):

  - headers: the compiler's dependency files (*.o.d) of every build directory given;
  - libraries: absolute paths and -l flags on the link lines (CMakeFiles/*/link.txt);
  - CMake packages: the *_DIR entries of CMakeCache.txt (their *Config.cmake files), the
    FILEPATH/PATH entries (protoc, libraries, include directories) and the .pc files of every
    pkg_check_modules() call;
  - Python modules imported by the project's Python files, resolved with /usr/bin/python3 (the
    interpreter the tests and tools run).

Each file must belong to a package in the closure of the named packages (Depends and
Pre-Depends, alternatives and virtual packages resolved against what is installed) or to an
Essential package. Anything else is reported with the package to add to install-deps.sh.

Usage: tools/check-deps.py BUILD_DIR [BUILD_DIR...]   (run by ctest as DependenciesAreNamed)
Exit: 0 all named, 1 something is missing, 2 the check could not run.
"""
import ast
import glob
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"


def named_packages():
    out = subprocess.run([os.path.join(REPO, "tools", "install-deps.sh"), "--list"],
                         check=True, capture_output=True, text=True).stdout
    return set(out.split())


def installed_index():
    """Package -> (depends, provides, essential) for every installed package."""
    fmt = "${Package}\t${db:Status-Abbrev}\t${Essential}\t${Depends}\t${Pre-Depends}\t${Provides}\n"
    out = subprocess.run(["dpkg-query", "-W", "-f=" + fmt], check=True, capture_output=True,
                         text=True).stdout
    packages, providers = {}, {}
    for line in out.splitlines():
        name, status, essential, depends, predepends, provides = (line.split("\t") + [""] * 6)[:6]
        if not status.startswith("ii"):
            continue
        groups = []
        for field in (depends, predepends):
            for group in filter(None, (g.strip() for g in field.split(","))):
                groups.append([_bare(alt) for alt in group.split("|")])
        packages[name] = (groups, essential == "yes")
        for p in filter(None, (p.strip() for p in provides.split(","))):
            providers.setdefault(_bare(p), set()).add(name)
    return packages, providers


def _bare(dep):
    """'libfoo1:any (>= 1.2)' -> 'libfoo1'."""
    return re.split(r"[\s:(]", dep.strip(), maxsplit=1)[0]


def closure(roots, packages, providers):
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        candidates = {name} | providers.get(name, set())
        for c in candidates:
            if c in seen or c not in packages:
                continue
            seen.add(c)
            for group in packages[c][0]:
                # Any installed alternative may be what a fresh machine gets: accept them all.
                todo.extend(group)
    return seen


def depfile_paths(build_dir):
    paths = set()
    for depfile in glob.glob(os.path.join(build_dir, "**", "*.o.d"), recursive=True):
        with open(depfile, errors="replace") as f:
            text = f.read().replace("\\\n", " ")
        for token in text.split():
            if token.startswith("/") and not token.endswith(":"):
                paths.add(token)
    return paths


def link_paths(build_dir):
    paths, libs = set(), set()
    for link in glob.glob(os.path.join(build_dir, "**", "link.txt"), recursive=True):
        with open(link, errors="replace") as f:
            for token in f.read().split():
                if token.startswith("/") and re.search(r"\.(so(\.[\d.]+)?|a)$", token):
                    paths.add(token)
                elif token.startswith("-l") and len(token) > 2:
                    libs.add(token[2:])
    for lib in libs:
        for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib", "/lib/x86_64-linux-gnu"):
            found = [p for p in (f"{d}/lib{lib}.so", f"{d}/lib{lib}.a") if os.path.exists(p)]
            if found:
                paths.add(found[0])
                break
    return paths


def cmake_cache_paths(build_dir):
    paths = set()
    cache = os.path.join(build_dir, "CMakeCache.txt")
    if not os.path.exists(cache):
        return paths
    with open(cache) as f:
        for line in f:
            m = re.match(r"([^:#/]+):(PATH|FILEPATH|INTERNAL)=(.*)$", line.strip())
            if not m:
                continue
            key, kind, value = m.groups()
            if key.endswith("_COMPILER_LAUNCHER") or key == "CMAKE_INSTALL_PREFIX":
                continue  # the user's own tooling and target, not what the build needs
            if key.startswith("__pkg_config_arguments_"):
                for module in value.split(";"):
                    if module in ("REQUIRED", "QUIET", "IMPORTED_TARGET", "GLOBAL", "NO_CMAKE_PATH",
                                  "NO_CMAKE_ENVIRONMENT_PATH") or not module:
                        continue
                    module = re.split(r"[<>=]", module)[0]
                    pc = subprocess.run(["pkg-config", "--path", module], capture_output=True,
                                        text=True).stdout.strip()
                    if pc:
                        paths.add(pc)
                    else:
                        paths.add("pkg-config module " + module)
                continue
            if kind == "INTERNAL" or not value.startswith("/") or value.startswith(REPO):
                continue
            if key.endswith("_DIR") and os.path.isdir(value):
                configs = glob.glob(os.path.join(value, "*onfig.cmake"))
                paths.update(configs or [value])
            elif os.path.exists(value):
                paths.add(value)
    return paths


def python_files():
    files = set(glob.glob(os.path.join(REPO, "tools", "**", "*.py"), recursive=True))
    files |= set(glob.glob(os.path.join(REPO, "tests", "**", "*.py"), recursive=True))
    for root in ("tools", "tests"):
        for path in glob.glob(os.path.join(REPO, root, "**", "*"), recursive=True):
            if os.path.isfile(path) and not path.endswith(".py"):
                try:
                    with open(path, "rb") as f:
                        if b"python" in f.readline():
                            files.add(path)
                except OSError:
                    pass
    return sorted(files)


def python_module_paths():
    """Imported top-level modules -> the file /usr/bin/python3 loads them from."""
    modules = {}
    for path in python_files():
        with open(path, errors="replace") as f:
            try:
                tree = ast.parse(f.read(), path)
            except SyntaxError as e:
                raise SystemExit(f"check-deps: {path}:{e.lineno}: cannot parse: {e.msg}")
        # Modules beside the file, and the protobuf modules generated from proto/ at run time.
        local = {os.path.splitext(n)[0] for n in os.listdir(os.path.dirname(path))}
        local |= set(os.listdir(os.path.join(REPO, "proto")))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in local:
                    modules.setdefault(top, os.path.relpath(path, REPO))
    if not modules:
        return {}
    probe = ("import importlib.util, sys\n"
             "for m in sys.argv[1:]:\n"
             "    try:\n"
             "        s = importlib.util.find_spec(m)\n"
             "    except Exception:\n"
             "        s = None\n"
             "    o = 'missing' if s is None else (s.origin or (list(s.submodule_search_locations or [''])[0]))\n"
             "    print(m, o)\n")
    out = subprocess.run([PYTHON, "-c", probe, *sorted(modules)], check=True, capture_output=True,
                         text=True).stdout
    result = {}
    for line in out.splitlines():
        module, origin = line.split(" ", 1)
        where = f"python module {module} (imported by {modules[module]})"
        if origin in ("built-in", "frozen"):
            continue
        result[where] = origin if origin != "missing" else None
    return result


def owners(paths):
    """Path -> set of owning packages, trying the /usr-merged spellings of each path."""
    variants = {}
    for p in paths:
        forms = {p, os.path.realpath(p)}
        for f in list(forms):
            if f.startswith("/usr/lib/") or f.startswith("/usr/bin/") or f.startswith("/usr/sbin/"):
                forms.add(f[4:])
            elif f.startswith(("/lib/", "/bin/", "/sbin/", "/lib64/")):
                forms.add("/usr" + f)
        variants[p] = forms
    every = sorted({f for forms in variants.values() for f in forms})
    owned = {}
    for i in range(0, len(every), 500):
        out = subprocess.run(["dpkg-query", "-S", *every[i:i + 500]], capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            if ": " not in line:
                continue
            pkgs, path = line.split(": ", 1)
            for pkg in pkgs.split(", "):
                owned.setdefault(path, set()).add(pkg.split(":")[0])
    return {p: set().union(*(owned.get(f, set()) for f in forms)) for p, forms in variants.items()}


def main(argv):
    build_dirs = [d for d in argv[1:] if os.path.isdir(d)]
    if not build_dirs:
        print("usage: check-deps.py BUILD_DIR [BUILD_DIR...] (no build directory found)")
        return 2
    named = named_packages()
    packages, providers = installed_index()
    not_installed = sorted(n for n in named if n not in packages and n not in providers)
    allowed = closure(named, packages, providers)
    allowed |= {name for name, (_, essential) in packages.items() if essential}

    used = {}
    for d in build_dirs:
        for p in depfile_paths(d) | link_paths(d) | cmake_cache_paths(d):
            used.setdefault(p, f"build ({os.path.relpath(os.path.abspath(d), REPO)})")
    python = python_module_paths()
    problems = []
    for where, origin in sorted(python.items()):
        if origin is None:
            problems.append(f"{where}: not importable by {PYTHON}")
        else:
            used[origin] = where
    unresolved = sorted(p for p in used if not p.startswith("/"))
    for p in unresolved:
        problems.append(f"{used.pop(p)} uses {p}: not found")

    files = sorted(p for p in used if not p.startswith(REPO) and not p.startswith("/tmp/"))
    owned = owners(files)
    missing = {}
    for path in files:
        pkgs = owned[path]
        if not pkgs:
            problems.append(f"{used[path]} uses {path}: no Debian package owns it "
                            f"(installed by hand?)")
        elif not pkgs & allowed:
            missing.setdefault(", ".join(sorted(pkgs)), []).append(path)
    for pkgs, paths in sorted(missing.items()):
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        problems.append(f"{pkgs}: not named by tools/install-deps.sh (nor a dependency of a "
                        f"named package), used by {used[paths[0]]}: {shown}")
    for n in not_installed:
        problems.append(f"{n}: named by tools/install-deps.sh but not installed")

    print(f"check-deps: {len(files)} files from {len(named)} named packages "
          f"({len(allowed)} with dependencies), {len(python)} python modules")
    for p in problems:
        print("check-deps: " + p)
    if problems:
        print("check-deps: FAILED: add the package(s) above to tools/install-deps.sh")
        return 1
    print("check-deps: every header, library, CMake package and python module is named")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
