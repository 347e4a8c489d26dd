"""A named baseline taken from git history, for benchmarks that measure code against an earlier
version of itself in the same run.

`mail_at(commit)` extracts `src/inboxkit/mail/` as it was at `commit` (with `git archive`, so
the working tree is untouched) into `bench/.baseline/<commit>/`, rewrites its absolute
`inboxkit.mail` imports into package-relative ones so it imports beside the current package
without replacing it, and returns it as a module. The extraction is cached; it needs the
repository's history (a shallow clone without that commit answers with git's own error).
"""

from __future__ import annotations

import importlib
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".baseline"
ABSOLUTE = re.compile(r"^(\s*)from inboxkit\.mail(\.\w+)? import", re.MULTILINE)


def _extract(commit: str, target: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit, "src/inboxkit/mail"],
        check=True,
        capture_output=True,
    ).stdout
    package = target / "mail"
    package.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".py"):
                continue
            source = tar.extractfile(member)
            assert source is not None
            text = source.read().decode()
            text = ABSOLUTE.sub(
                lambda m: f"{m.group(1)}from .{(m.group(2) or '')[1:]} import", text
            )
            (package / Path(member.name).name).write_text(text)


def mail_at(commit: str) -> ModuleType:
    """`inboxkit.mail` as it was at `commit`, importable as `baseline_<commit>.mail`."""
    name = f"baseline_{commit}"
    target = CACHE / name
    if not (target / "mail" / "__init__.py").exists():
        _extract(commit, target)
        (target / "__init__.py").write_text("")
    if str(CACHE) not in sys.path:
        sys.path.insert(0, str(CACHE))
    return importlib.import_module(f"{name}.mail")
