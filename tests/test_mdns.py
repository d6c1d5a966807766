"""Finding the server on the school LAN: the addresses it shows, and its mDNS/DNS-SD
advertisement. Nothing here sends a packet: service records are built and inspected,
and the one real start-up binds to an address this machine does not have, which fails
before anything is sent."""

from __future__ import annotations

import asyncio
import logging
import socket

from conftest import login, make_client
from server.config import load_settings
from server.netinfo import SERVICE_TYPE, Advertiser, build_service_info, lan_ipv4_addresses, server_urls, \
    service_instance_name

SCHOOL = "МБОУ «Средняя общеобразовательная школа № 7»"
NOT_OURS = "192.0.2.55"  # TEST-NET-1, never assigned to this machine


def settings(tmp_path, **overrides):
    return load_settings(tmp_path / "data", **overrides)


# --- the service record ------------------------------------------------------------------------

def test_phones_find_the_school_as_an_http_service_named_after_it_on_zhurnal_local(tmp_path):
    info = build_service_info(settings(tmp_path, port=8000), "Школа № 12", ["192.168.1.20"])
    assert info.type == "_http._tcp.local." == SERVICE_TYPE
    assert info.name == "Школа № 12._http._tcp.local."
    assert info.server == "zhurnal.local."
    assert info.port == 8000
    assert info.parsed_addresses() == ["192.168.1.20"]
    assert info.properties[b"path"] == b"/"


def test_admin_can_choose_the_local_host_name_and_port_the_school_is_found_under(tmp_path):
    info = build_service_info(settings(tmp_path, mdns_hostname="school7", port=8080), SCHOOL,
                              ["10.0.0.5", "192.168.0.7"])
    assert info.server == "school7.local."
    assert info.port == 8080
    assert sorted(info.parsed_addresses()) == ["10.0.0.5", "192.168.0.7"]
    assert [socket.inet_ntoa(a) for a in info.addresses] == ["10.0.0.5", "192.168.0.7"]
    # A long Russian name is shortened to a valid DNS label, not refused.
    instance = info.name[: -len("." + SERVICE_TYPE)]
    assert instance == service_instance_name(SCHOOL)
    assert len(instance.encode()) <= 63
    assert SCHOOL.startswith(instance)


def test_a_long_cyrillic_school_name_is_trimmed_to_63_bytes_without_breaking_a_letter():
    for prefix in ("", "a", "ab", "abc"):
        name = prefix + "Ш" * 40
        label = service_instance_name(name)
        encoded = label.encode("utf-8")
        assert len(encoded) <= 63
        assert len(encoded) >= 62, label  # no more than the one broken letter is dropped
        assert name.startswith(label)
        assert "\ufffd" not in label
    assert service_instance_name("Школа") == "Школа"


def test_dots_in_the_school_name_do_not_split_the_service_name():
    label = service_instance_name("МОУ СОШ № 2 г. Светлогорска")
    assert "." not in label
    assert label.startswith("МОУ СОШ № 2 г") and label.endswith("Светлогорска")
    assert service_instance_name("") == "Журнал"
    assert service_instance_name("...") == "Журнал"


# --- what the admin is told to open ---------------------------------------------------------------

def test_the_local_name_is_offered_first_when_mdns_is_on(tmp_path):
    urls = server_urls(settings(tmp_path, host="0.0.0.0", port=8000, mdns=True))
    assert urls[0] == "http://zhurnal.local:8000"
    # Then every LAN address, for phones that do not resolve .local names.
    assert urls[1:] == [f"http://{ip}:8000" for ip in lan_ipv4_addresses()] or urls[1:] == []
    assert all(u.startswith("http://") and u.endswith(":8000") for u in urls)


def test_the_local_name_is_not_offered_when_mdns_is_off(tmp_path):
    urls = server_urls(settings(tmp_path, host="0.0.0.0", port=8000, mdns=False))
    assert not any(".local" in u for u in urls)
    assert urls, "there must always be some address to open"
    assert all(u.endswith(":8000") for u in urls)


def test_a_server_bound_to_one_address_is_offered_only_at_that_address(tmp_path):
    assert server_urls(settings(tmp_path, host="192.168.5.10", port=8000, mdns=True)) == ["http://192.168.5.10:8000"]
    assert server_urls(settings(tmp_path, host="127.0.0.1", port=8123, mdns=False)) == ["http://127.0.0.1:8123"]


def test_port_80_is_left_out_of_the_address(tmp_path):
    assert server_urls(settings(tmp_path, host="0.0.0.0", port=80, mdns=True, mdns_hostname="school7"))[0] == \
        "http://school7.local"


def test_lan_addresses_leave_out_loopback():
    for ip in lan_ipv4_addresses():
        assert not ip.startswith("127.")
        socket.inet_aton(ip)


# --- advertising never stops the server ---------------------------------------------------------

def test_advertising_on_an_address_this_machine_does_not_have_fails_with_a_warning_not_a_crash(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="zhurnal.mdns")

    async def attempt() -> bool:
        advertiser = Advertiser()
        try:
            return await advertiser.start(settings(tmp_path, host=NOT_OURS, mdns=True), SCHOOL)
        finally:
            await advertiser.stop()

    assert asyncio.run(attempt()) is False
    warnings = [r for r in caplog.records if r.name == "zhurnal.mdns" and r.levelno == logging.WARNING]
    assert warnings, caplog.text
    assert "не удалось объявить" in warnings[-1].getMessage()
    assert "IP-адресу" in warnings[-1].getMessage()


def test_advertising_is_skipped_with_a_warning_when_the_server_listens_only_on_loopback(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="zhurnal.mdns")

    async def attempt() -> bool:
        advertiser = Advertiser()
        try:
            return await advertiser.start(settings(tmp_path, host="127.0.0.1", mdns=True), SCHOOL)
        finally:
            await advertiser.stop()

    assert asyncio.run(attempt()) is False
    assert any("объявление пропущено" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


class Recorded(logging.Handler):
    """Records the messages of one logger (Litestar reconfigures the root logger, so
    pytest's caplog does not see what is logged while an app runs)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.levelno, record.getMessage()))


def test_the_school_can_still_use_the_server_when_mdns_advertising_fails(data_dir):
    recorded = Recorded()
    mdns_log = logging.getLogger("zhurnal.mdns")
    mdns_log.addHandler(recorded)
    try:
        with make_client(data_dir, mdns=True, host=NOT_OURS) as c:
            r = c.get("/login")
            assert r.status_code == 200
            assert "Вход в электронный журнал" in r.text
            login(c, "sysadmin")
            home = c.get("/")
            assert home.status_code == 200
            # The admin is shown the one address the server is bound to.
            assert f"http://{NOT_OURS}:8000" in home.text
    finally:
        mdns_log.removeHandler(recorded)
    assert any(level == logging.WARNING and "не удалось объявить" in message
               for level, message in recorded.messages), recorded.messages
