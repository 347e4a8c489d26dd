"""Fetch and locate the external tools the benchmarks drive.

Everything lands in ``bench/.tools/`` (git-ignored) and every fetch is idempotent: a tool
that is already there and runs is used as is, so only a fresh machine downloads anything.

- Postfix's ``smtp-source`` load generator: ``apt-get download postfix`` and ``dpkg -x`` into
  ``bench/.tools/postfix`` (no installation, no daemon, no root-owned config needed). If the
  dynamic loader misses shared libraries, the library packages postfix depends on are fetched
  and unpacked next to it the same way.
- MailDev 2.2.1 (comparison target): ``npm install maildev@2.2.1`` into
  ``bench/.tools/maildev``.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
TOOLS_DIR = BENCH_DIR / ".tools"
POSTFIX_DIR = TOOLS_DIR / "postfix"
DEBS_DIR = TOOLS_DIR / "debs"
MAILDEV_DIR = TOOLS_DIR / "maildev"
MAILDEV_VERSION = "2.2.1"

Log = Callable[[str], None]


def _default_log(msg: str) -> None:
    print(f"[tools] {msg}", flush=True)


class ToolError(RuntimeError):
    """A tool could not be fetched or does not run."""


@dataclass
class Program:
    """An executable plus the environment it needs."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        for key, value in self.env.items():
            if key == "LD_LIBRARY_PATH" and env.get(key):
                value = f"{value}:{env[key]}"
            env[key] = value
        return env


# --------------------------------------------------------------------------- helpers


def _run(cmd: list[str], log: Log, cwd: Path | None = None) -> subprocess.CompletedProcess:
    log("$ " + " ".join(cmd))
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise ToolError(f"{' '.join(cmd)} failed (exit {proc.returncode}): " + " | ".join(tail))
    return proc


_apt_updated = False


def _apt_download(packages: list[str], log: Log) -> list[Path]:
    """``apt-get download`` into DEBS_DIR, running ``apt-get update`` once if lists are stale."""
    global _apt_updated
    if not shutil.which("apt-get"):
        raise ToolError("apt-get not found: smtp-source is fetched from Debian's postfix package")
    DEBS_DIR.mkdir(parents=True, exist_ok=True)
    cmd = ["apt-get", "download", *packages]
    try:
        _run(cmd, log, cwd=DEBS_DIR)
    except ToolError:
        if _apt_updated:
            raise
        log("apt-get download failed; refreshing package lists once")
        _run(["apt-get", "update"], log)
        _apt_updated = True
        _run(cmd, log, cwd=DEBS_DIR)
    debs: list[Path] = []
    for pkg in packages:
        found = sorted(DEBS_DIR.glob(f"{pkg}_*.deb"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise ToolError(f"apt-get download {pkg} produced no .deb in {DEBS_DIR}")
        debs.append(found[-1])
    return debs


def _dpkg_extract(deb: Path, dest: Path, log: Log) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    _run(["dpkg-deb", "-x", str(deb), str(dest)], log)


# --------------------------------------------------------------------------- smtp-source


def _postfix_lib_dirs() -> list[str]:
    dirs = [POSTFIX_DIR / "usr/lib/postfix"]
    for pattern in ("usr/lib/*-linux-gnu", "lib/*-linux-gnu", "usr/lib", "lib"):
        dirs.extend(Path(p) for p in glob.glob(str(POSTFIX_DIR / pattern)))
    return [str(d) for d in dirs if d.is_dir()]


def _missing_libs(binary: Path, env: dict[str, str]) -> list[str]:
    if not shutil.which("ldd"):
        return []
    proc = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, env=env)
    return re.findall(r"^\s*(\S+)\s+=>\s+not found", proc.stdout, flags=re.M)


def _installed(pkg: str) -> bool:
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return proc.returncode == 0 and "install ok installed" in proc.stdout


def _library_deps(pkg: str) -> list[str]:
    proc = subprocess.run(
        [
            "apt-cache",
            "depends",
            "--no-recommends",
            "--no-suggests",
            "--no-conflicts",
            "--no-breaks",
            "--no-replaces",
            "--no-enhances",
            pkg,
        ],
        capture_output=True,
        text=True,
    )
    names = []
    for line in proc.stdout.splitlines():
        m = re.match(r"^\s*\|?(?:Pre)?Depends:\s+([a-z0-9][a-z0-9.+-]*)\s*$", line)
        if m and m.group(1).startswith("lib") and not m.group(1).endswith("-perl"):
            names.append(m.group(1))
    return names


def _postfix_library_packages(log: Log) -> list[str]:
    """Shared-library packages postfix needs (following library deps only), not installed."""
    log("$ apt-cache depends postfix (and its library dependencies)")
    seen: set[str] = set()
    todo = _library_deps("postfix")
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        todo.extend(_library_deps(pkg))
    return sorted(n for n in seen if not _installed(n))


def ensure_smtp_source(log: Log = _default_log) -> Program:
    """Return Postfix's ``smtp-source``, fetching it into bench/.tools/postfix if needed."""
    binary = POSTFIX_DIR / "usr/sbin/smtp-source"
    if not binary.exists():
        log(f"fetching Postfix (for smtp-source) into {POSTFIX_DIR}")
        (deb,) = _apt_download(["postfix"], log)
        _dpkg_extract(deb, POSTFIX_DIR, log)
    if not binary.exists():
        raise ToolError(f"{binary} not found after unpacking postfix")

    def program() -> Program:
        return Program([str(binary)], {"LD_LIBRARY_PATH": ":".join(_postfix_lib_dirs())})

    prog = program()
    missing = _missing_libs(binary, prog.environ())
    if missing:
        log(f"smtp-source misses shared libraries {missing}; fetching postfix's library deps")
        pkgs = _postfix_library_packages(log)
        if not pkgs:
            raise ToolError(f"smtp-source misses {missing} and no library package to fetch")
        for deb in _apt_download(pkgs, log):
            _dpkg_extract(deb, POSTFIX_DIR, log)
        prog = program()
        missing = _missing_libs(binary, prog.environ())
        if missing:
            raise ToolError(f"smtp-source still misses shared libraries: {missing}")
    # Sanity run: without arguments smtp-source prints its usage and exits 1.
    proc = subprocess.run(prog.argv, capture_output=True, text=True, env=prog.environ())
    if "usage" not in (proc.stderr + proc.stdout):
        raise ToolError(f"smtp-source does not run: {(proc.stderr or proc.stdout).strip()}")
    return prog


# --------------------------------------------------------------------------- MailDev


def _maildev_installed_version() -> str | None:
    pkg = MAILDEV_DIR / "node_modules/maildev/package.json"
    try:
        return json.loads(pkg.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def ensure_maildev(log: Log = _default_log) -> Program:
    """Return MailDev 2.2.1 (run with node), fetching it with npm if needed."""
    node = shutil.which("node")
    if not node:
        raise ToolError("node not found: MailDev needs Node.js")
    script = MAILDEV_DIR / "node_modules/maildev/bin/maildev"
    if _maildev_installed_version() != MAILDEV_VERSION or not script.exists():
        npm = shutil.which("npm")
        if not npm:
            raise ToolError("npm not found: MailDev is installed from the npm registry")
        log(f"fetching MailDev {MAILDEV_VERSION} into {MAILDEV_DIR}")
        MAILDEV_DIR.mkdir(parents=True, exist_ok=True)
        manifest = MAILDEV_DIR / "package.json"
        if not manifest.exists():
            # Own manifest so npm does not walk up and treat the repository as the project.
            manifest.write_text(json.dumps({"name": "inboxkit-bench-tools", "private": True}))
        _run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                f"maildev@{MAILDEV_VERSION}",
            ],
            log,
            cwd=MAILDEV_DIR,
        )
        if _maildev_installed_version() != MAILDEV_VERSION:
            raise ToolError(f"npm did not install maildev {MAILDEV_VERSION}")
    return Program([node, str(script)])


if __name__ == "__main__":
    src = ensure_smtp_source()
    print("smtp-source:", " ".join(src.argv), src.env)
    md = ensure_maildev()
    print("maildev:", " ".join(md.argv))
