"""Make hard-coded ``/opt/ml/...`` paths work: a private mount namespace per step process.

SageMaker scripts write to ``/opt/ml/processing/output/...`` or ``/opt/ml/model``. On Linux
each step process runs under ``unshare`` in its own mount namespace, where ``/opt/ml`` is its
work dir bind-mounted: ``/opt`` is covered by an overlay whose upper layer is a private tmpfs,
so ``/opt/ml`` is created only inside the namespace, never on the host, and parallel steps
each see their own. Where namespaces are unavailable (macOS, containers without
CAP_SYS_ADMIN), steps run in ``rewrite`` mode: ``/opt/ml`` in arguments becomes the work dir,
and ``SAGEPIPE_OPT_ML`` names it.

Run as ``python -m sagepipe.local.sandbox SCRATCH TARGET`` (inside ``unshare``) it is the
capability probe: it mounts ``TARGET`` at ``/opt/ml`` and checks a file written there lands
in ``TARGET``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sagepipe.local.protocol import OptMlMode

MODE_ENV = "SAGEPIPE_OPT_ML_MODE"
OPT_ML_ENV = "SAGEPIPE_OPT_ML"
_OPT = Path("/opt")
_PROBE_MARKER = "sagepipe-probe"


class SandboxError(OSError):
    """``/opt/ml`` could not be mounted in the step's namespace."""


def unshare_command() -> list[str]:
    """The command prefix that starts a process in a private mount namespace."""
    flags = ["--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        flags = ["--user", "--map-root-user", *flags]
    return ["unshare", *flags]


def detect_mode() -> OptMlMode:
    """``namespace`` if a probe process can mount a directory at ``/opt/ml``, else
    ``rewrite``; ``$SAGEPIPE_OPT_ML_MODE`` forces either. Probed once per process."""
    forced = os.environ.get(MODE_ENV)
    if forced == "rewrite":
        return "rewrite"
    if forced == "namespace":
        return "namespace"
    return _probe_mode()


@functools.lru_cache(maxsize=1)
def _probe_mode() -> OptMlMode:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return "rewrite"
    with tempfile.TemporaryDirectory(prefix="sagepipe-probe-") as scratch:
        target = Path(scratch) / "target"
        target.mkdir()
        command = [*unshare_command(), sys.executable, "-m", "sagepipe.local.sandbox"]
        try:
            probe = subprocess.run(
                [*command, str(Path(scratch) / "ns"), str(target)],
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return "rewrite"
        ok = probe.returncode == 0 and (target / _PROBE_MARKER).is_file()
        return "namespace" if ok else "rewrite"


def mount_opt_ml(opt_ml: Path, scratch: Path) -> None:
    """Inside a private mount namespace, make ``/opt/ml`` show ``opt_ml``.

    Raises:
        SandboxError: if this process is not in a mount namespace of its own (a step process
            started by hand, not by the engine under ``unshare``: its mounts would cover
            ``/opt`` for the whole machine), or if a mount fails (the caller falls back to
            ``rewrite`` mode).
    """
    if not _in_private_namespace():
        raise SandboxError(
            "this process shares its parent's mount namespace, so mounting /opt/ml here would "
            "change /opt for the whole machine; start it under unshare, as the engine does"
        )
    target = _OPT / "ml"
    opt_ml.mkdir(parents=True, exist_ok=True)
    if not target.is_dir():
        if not _OPT.is_dir():
            raise SandboxError("/opt does not exist, so /opt/ml cannot be mounted over it")
        for bad in (",", ":"):
            if bad in str(scratch):
                raise SandboxError(f"the scratch path {scratch} contains {bad!r}")
        scratch.mkdir(parents=True, exist_ok=True)
        _mount("-t", "tmpfs", "sagepipe", str(scratch))
        upper, work, original = scratch / "upper", scratch / "work", scratch / "original"
        for directory in (upper, work, original):
            directory.mkdir()
        submounts = _submounts_of(_OPT)
        if submounts:
            # An overlay shows what is under a mount point, not the mount: keep a view.
            _mount("--rbind", str(_OPT), str(original))
        _mount(
            "-t", "overlay", "overlay",
            "-o", f"lowerdir={_OPT},upperdir={upper},workdir={work}",
            str(_OPT),
        )  # fmt: skip
        for submount in submounts:
            _mount("--rbind", str(original / submount.relative_to(_OPT)), str(submount))
        target.mkdir(exist_ok=True)
    _mount("--bind", str(opt_ml), str(target))


def _in_private_namespace() -> bool:
    """Whether this process's mount namespace differs from its parent's (``unshare`` execs
    the step process, so its parent is the engine)."""
    try:
        own = os.readlink("/proc/self/ns/mnt")
        parent = os.readlink(f"/proc/{os.getppid()}/ns/mnt")
    except OSError:
        return False
    return own != parent


def _submounts_of(root: Path) -> list[Path]:
    """Top-level mount points strictly under ``root`` (from ``/proc/self/mountinfo``)."""
    found: list[Path] = []
    mountinfo = Path("/proc/self/mountinfo")
    if not mountinfo.is_file():
        return found
    for line in mountinfo.read_text().splitlines():
        fields = line.split()
        point = Path(fields[4].encode().decode("unicode_escape"))
        if root in point.parents and not any(p in point.parents for p in found):
            found.append(point)
    return sorted(found)


def _mount(*arguments: str) -> None:
    done = subprocess.run(["mount", *arguments], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SandboxError(f"mount {' '.join(arguments)} failed: {done.stderr.strip()}")


def _probe(scratch: Path, target: Path) -> int:
    mount_opt_ml(target, scratch)
    (Path("/opt/ml") / _PROBE_MARKER).write_text("ok")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(_probe(Path(sys.argv[1]), Path(sys.argv[2])))
    except SandboxError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None
