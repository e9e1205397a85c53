"""The conformance suite as a third party runs it: the pytest plugin and a config file."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_the_plugin_runs_the_suite_against_an_installed_adapter(pytester: pytest.Pytester) -> None:
    config = pytester.makefile(
        ".toml",
        ca='[certificates]\nocsp_url = "http://127.0.0.1:8080/ocsp"\n'
        '[business]\ntimezone = "Europe/Berlin"\n[ca.local]\nname = "Third Party"\n',
    )
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider",
        "-p", "no:playwright",  # its soft-assertion scope does not nest in this process
        "-p", "ca_adapters.testing.plugin",
        "--pyargs", "ca_adapters.testing.conformance",
        "--ca-adapter", "local",
        "--ca-config", str(config),
    )  # fmt: skip
    result.assert_outcomes(passed=16, skipped=2)
