"""Settings: defaults, partial files, refused keys, the data directory."""

from pathlib import Path
from typing import Any

import pytest

from ca_adapters.registry import adapter_options
from certsvc.config import load_settings, settings_from_dict
from certsvc.errors import ConfigError


def test_defaults_live_under_certsvc_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CERTSVC_HOME", str(tmp_path / "data"))
    settings = load_settings(None)
    assert settings.home_dir == tmp_path / "data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'certsvc.db'}"
    assert settings.business.timezone == "Asia/Tokyo"
    assert settings.certificates.validity_years == 2


def test_a_file_with_only_ca_keeps_every_other_default(tmp_path):
    config = tmp_path / "certsvc.toml"
    config.write_text('[ca]\nadapter = "globalsign"\n')
    settings = load_settings(config)
    assert settings.ca.adapter == "globalsign"
    assert settings.reissue.revoke_old == "now"
    assert settings.crl.validity_hours == 168


def test_certsvc_config_names_the_file(tmp_path, monkeypatch):
    config = tmp_path / "c.toml"
    config.write_text("[reissue]\non_pickup_grace_days = 3\n")
    monkeypatch.setenv("CERTSVC_CONFIG", str(config))
    assert load_settings(None).reissue.on_pickup_grace_days == 3


def test_an_unknown_key_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"config key ca\.adaptr"):
        settings_from_dict({"ca": {"adaptr": "local"}})


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ConfigError, match=r"unknown time zone 'Mars/Olympus'"):
        settings_from_dict({"business": {"timezone": "Mars/Olympus"}})


def test_a_missing_or_broken_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[ca\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)


def test_the_example_config_is_valid_and_documents_the_defaults():
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    settings = load_settings(example)
    defaults = settings_from_dict({})
    # [ca.<name>] tables are kept raw and validated by each adapter's own options model
    exclude: dict[str, Any] = {"home": True, "ca": {"tables"}}
    assert settings.model_dump(exclude=exclude) == defaults.model_dump(exclude=exclude)
    assert set(settings.ca.tables) == {"local", "globalsign"}
    for name, table in settings.ca.tables.items():
        assert adapter_options(name, table) == adapter_options(name, {})
