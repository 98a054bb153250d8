"""Every kind of hostile archive, through package, serve's model preparation and safe
extraction: refused with a clear one-line message naming the archive (or, where accepted by
design, accepted safely), and never a file written outside the target."""

from __future__ import annotations

from pathlib import Path

import pytest

from .archive_attacks import ATTACKS, Attack, run_attack


def test_the_corpus_has_at_least_fifteen_kinds() -> None:
    kinds = [attack.kind for attack in ATTACKS]
    assert len(set(kinds)) == len(kinds) >= 15
    assert sum(not attack.accepted for attack in ATTACKS) >= 15


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.build.__name__ for a in ATTACKS])
def test_a_hostile_archive_is_refused_or_accepted_safely(tmp_path: Path, attack: Attack) -> None:
    result = run_attack(attack, tmp_path)

    assert result.outside() == []
    for reader, outcome in result.outcomes().items():
        assert outcome.outside == [], reader
        if attack.accepted:
            assert not outcome.refused, f"{reader}: {outcome.message}"
            assert outcome.unsafe_modes == [], reader
        else:
            assert outcome.refused, f"{reader} accepted {attack.kind}"
            assert "\n" not in outcome.message and "Traceback" not in outcome.message
            assert result.archive.name in outcome.message, (reader, outcome.message)
    if attack.accepted:
        assert result.plain_extract_of_output is not None  # the output was checked too
