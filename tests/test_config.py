"""Settings: a typo is a Russian message at load (exit status 2), never a silent default."""

from __future__ import annotations

import pytest

from server.cli import main
from server.config import ConfigError, load_settings


@pytest.mark.parametrize("text, setting", [
    ('mdns = "ture"\n', "mdns"),          # a typo is not False
    ("backup_auto = 2\n", "backup_auto"),
    ('backup_time = "25:00"\n', "backup_time"),
    ('backup_time = "2 часа"\n', "backup_time"),
    ('clock = "вчера"\n', "clock"),
    ('port = "восемь"\n', "port"),
])
def test_a_setting_that_cannot_be_used_is_refused_at_load(tmp_path, monkeypatch, text, setting):
    monkeypatch.delenv("ZHURNAL_CLOCK", raising=False)  # the suite's own clock setting
    (tmp_path / "zhurnal.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path)
    assert setting in e.value.message


@pytest.mark.parametrize("value, expected", [("true", True), ("да", True), ("0", False), ("нет", False)])
def test_booleans_take_the_usual_spellings(tmp_path, monkeypatch, value, expected):
    monkeypatch.setenv("ZHURNAL_MDNS", value)
    assert load_settings(tmp_path).mdns is expected


def test_a_typo_in_an_environment_setting_stops_the_server_with_exit_status_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZHURNAL_BACKUP_AUTO", "yes please")
    assert main(["serve", "--data", str(tmp_path / "data"), "--no-mdns"]) == 2
    err = capsys.readouterr().err
    assert "backup_auto" in err and "true или false" in err
    assert not (tmp_path / "data" / "zhurnal.sqlite3").exists()
