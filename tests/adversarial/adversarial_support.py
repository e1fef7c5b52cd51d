"""Helpers of the adversarial suite: hashing, a clean child environment, and a runner that
measures a real ``feeds-kit`` process's wall time and peak memory.

A module of its own (not ``conftest``) so the test files import it by a name no other test
folder can shadow.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Environment variables that could leak a developer's real credentials or settings into a test.
CREDENTIAL_VARS = (
    "LWA_CLIENT_ID", "LWA_APP_ID", "LWA_CLIENT_SECRET", "SP_API_REFRESH_TOKEN", "SP_API_SELLER_ID",
    "SP_API_REGION", "FEEDS_KIT_ENDPOINT", "FEEDS_KIT_LWA_ENDPOINT", "FEEDS_KIT_PROFILE",
    "FEEDS_KIT_LOG_LEVEL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN", "AWS_PROFILE",
)


def sha256(path: Path) -> str:
    """The file's SHA-256, to prove an input was not modified."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- a real process, bounded ---------------------------------------------------------------------

#: Runs the command given after the time limit, then reports the child's exit code, output,
#: wall time and peak resident memory (RUSAGE_CHILDREN: this wrapper has no other child).
_WRAPPER = r"""
import json, resource, subprocess, sys, time
limit = float(sys.argv[1])
def cap():
    # A safety net only (a regression must fail the test, not take the machine's memory);
    # generous, as address space is not memory: malloc arenas and thread stacks reserve a lot.
    resource.setrlimit(resource.RLIMIT_AS, (16 << 30, 16 << 30))
start = time.monotonic()
try:
    done = subprocess.run(sys.argv[2:], capture_output=True, timeout=limit, preexec_fn=cap)
    code, out, err = done.returncode, done.stdout, done.stderr
except subprocess.TimeoutExpired as exc:
    code, out, err = None, exc.stdout or b"", exc.stderr or b""
seconds = time.monotonic() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
scale = 1 if sys.platform == "darwin" else 1024
json.dump({"code": code, "stdout": out.decode("utf-8", "replace"),
           "stderr": err.decode("utf-8", "replace"), "seconds": seconds,
           "peak_bytes": peak * scale}, sys.stdout)
"""


@dataclass(frozen=True)
class BoundedRun:
    """What a real ``feeds-kit`` process did: exit code (``None``: killed at the time limit),
    output, wall time and peak resident memory."""

    code: int | None
    stdout: str
    stderr: str
    seconds: float
    peak_bytes: int

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / (1 << 20)


def run_bounded(
    args: Sequence[str], env: Mapping[str, str], *, limit: float = 30.0, cwd: Path | None = None
) -> BoundedRun:
    """Run ``python -m feeds_kit ARGS`` in a fresh process, measured by a wrapper process."""
    command = [sys.executable, "-c", _WRAPPER, str(limit), sys.executable, "-m", "feeds_kit",
               *args]
    done = subprocess.run(command, capture_output=True, env=dict(env), cwd=cwd, check=True,
                          timeout=limit + 30)
    data = json.loads(done.stdout)
    return BoundedRun(data["code"], data["stdout"], data["stderr"], data["seconds"],
                      data["peak_bytes"])


def child_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process: this one's, minus credentials, with a private home."""
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    env["FEEDS_KIT_HOME"] = str(home)
    env["FEEDS_KIT_CONFIG"] = str(home / "config.toml")
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra or {})
    return env
