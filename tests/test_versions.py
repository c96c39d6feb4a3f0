"""Code versions are enforced: a change that alters a run's numbers must bump a version."""

from __future__ import annotations

import json

import pytest

from seemrepro.datasets.resolve import synthetic
from seemrepro.engine import numerics, versions
from seemrepro.rl.agents import ALGORITHMS, SAC


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_numbers_match_the_recorded_fingerprint_of_this_code_version(algorithm: str) -> None:
    recorded = numerics.recorded_numerics()
    version, where = versions.code_version(algorithm), numerics.numeric_platform()
    assert version in recorded.get(algorithm, {}), (
        f"{algorithm}: no fingerprint for {version}; run `python -m seemrepro.engine.numerics "
        f"--record`")
    on_platforms = recorded[algorithm][version]
    if where not in on_platforms:
        pytest.skip(f"{algorithm} {version}: nothing recorded on {where} (recorded on "
                    f"{', '.join(on_platforms)}); run `python -m seemrepro.engine.numerics "
                    f"--record` on such a CPU")
    assert numerics.numeric_fingerprint(algorithm) == on_platforms[where], (
        f"{algorithm}: the numbers of {version} on {where} changed: bump ENGINE_VERSION "
        f"(seemrepro.engine.versions) or the agent class's `version`, then record")


def test_code_version_names_the_engine_and_every_agent_class(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert versions.code_version("cql") == \
        f"engine{versions.ENGINE_VERSION}/CQL.1/SAC.1/Agent.1"
    before = versions.code_version("cql")
    monkeypatch.setattr(SAC, "version", 2)  # CQL inherits SAC's update code
    assert versions.code_version("cql") != before
    assert versions.code_version("td3") == versions.code_version("td3bc")


def test_record_refuses_to_change_a_recorded_version(tmp_path, monkeypatch) -> None:
    path = tmp_path / "numerics.json"
    path.write_text(json.dumps(
        {"td3": {versions.code_version("td3"): {numerics.numeric_platform(): "0" * 16}}}))
    monkeypatch.setattr(numerics, "numerics_path", lambda: path)
    with pytest.raises(SystemExit, match="bump"):
        numerics.record_numerics(["td3"])


def test_data_fingerprint_follows_the_contents() -> None:
    a, b = synthetic(50, seed=0), synthetic(50, seed=0)
    assert versions.buffer_fingerprint(a) == versions.buffer_fingerprint(b)
    b.rewards[3] += 1e-3
    assert versions.buffer_fingerprint(a) != versions.buffer_fingerprint(b)
    assert versions.data_fingerprint("synthetic/50") == versions.buffer_fingerprint(a)
