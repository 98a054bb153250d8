"""The mount namespace guard: a step process never mounts over /opt for the whole machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sagepipe.local import sandbox


def test_mounting_outside_a_private_namespace_is_refused_before_any_mount(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This test process shares its parent's namespace, as a step process started by hand
    # does: no mount may be attempted (each would be visible machine-wide).
    attempted: list[tuple[str, ...]] = []
    monkeypatch.setattr(sandbox, "_mount", lambda *arguments: attempted.append(arguments))

    with pytest.raises(sandbox.SandboxError, match="shares its parent's mount namespace"):
        sandbox.mount_opt_ml(tmp_path / "opt_ml", tmp_path / "scratch")

    assert attempted == []


@pytest.mark.skipif(
    sandbox.detect_mode() != "namespace", reason="this machine cannot unshare mount namespaces"
)
def test_under_unshare_the_probe_mounts_in_its_own_namespace_only(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    command = [*sandbox.unshare_command(), sys.executable, "-m", "sagepipe.local.sandbox"]
    done = subprocess.run(
        [*command, str(tmp_path / "ns"), str(target)], capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
    assert (target / sandbox._PROBE_MARKER).read_text() == "ok"
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(tmp_path) not in mounts
