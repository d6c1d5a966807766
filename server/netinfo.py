"""The addresses people type to reach the server, and its mDNS/DNS-SD advertisement."""

from __future__ import annotations

import ipaddress
import logging
import socket

import ifaddr

from .config import Settings

log = logging.getLogger("zhurnal.mdns")
SERVICE_TYPE = "_http._tcp.local."


def lan_ipv4_addresses() -> list[str]:
    """IPv4 addresses of this machine's interfaces, loopback and link-local left out.

    Read from the interfaces themselves: nothing is sent on the network to find them.
    """
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if not isinstance(ip.ip, str):
                continue
            addr = ipaddress.IPv4Address(ip.ip)
            if not (addr.is_loopback or addr.is_link_local) and ip.ip not in found:
                found.append(ip.ip)
    return found


def server_urls(settings: Settings) -> list[str]:
    """What to print and show: the .local name first, then each IP address (some phones
    do not resolve .local)."""
    port = "" if settings.port == 80 else f":{settings.port}"
    if settings.host not in ("0.0.0.0", "::", ""):
        return [f"http://{settings.host}{port}"]
    urls = [f"http://{settings.mdns_hostname}.local{port}"] if settings.mdns else []
    urls += [f"http://{ip}{port}" for ip in lan_ipv4_addresses()]
    return urls or [f"http://127.0.0.1{port}"]


def service_instance_name(school_name: str) -> str:
    """A DNS-SD instance label: the school's name, at most 63 bytes of UTF-8, no dots."""
    name = (school_name or "Журнал").replace(".", " ").strip() or "Журнал"
    encoded = name.encode()[:63]
    return encoded.decode(errors="ignore").strip()


def build_service_info(settings: Settings, school_name: str, addresses: list[str]):
    from zeroconf import ServiceInfo

    return ServiceInfo(
        SERVICE_TYPE,
        f"{service_instance_name(school_name)}.{SERVICE_TYPE}",
        port=settings.port,
        addresses=[socket.inet_aton(a) for a in addresses],
        server=f"{settings.mdns_hostname}.local.",
        properties={"path": "/", "app": "zhurnal"},
    )


class Advertiser:
    """Announces the server on the LAN; any failure is logged and the server goes on."""

    def __init__(self) -> None:
        self._zc = None
        self._info = None

    async def start(self, settings: Settings, school_name: str, interfaces=None) -> bool:
        try:
            from zeroconf.asyncio import AsyncZeroconf

            addresses = [settings.host] if settings.host not in ("0.0.0.0", "", "::") else lan_ipv4_addresses()
            if not addresses or any(ipaddress.IPv4Address(a).is_loopback for a in addresses):
                log.warning("mDNS: нет сетевого адреса в локальной сети, объявление пропущено")
                return False
            self._info = build_service_info(settings, school_name, addresses)
            self._zc = AsyncZeroconf(interfaces=interfaces or addresses)
            await self._zc.async_register_service(self._info, allow_name_change=True)
            log.info("mDNS: сервер объявлен как %s.local", settings.mdns_hostname)
            return True
        except Exception as e:  # noqa: BLE001 - advertising is a convenience, never fatal
            log.warning("mDNS: не удалось объявить сервер в сети (%s); сервер работает, откройте его по IP-адресу", e)
            await self.stop()
            return False

    async def stop(self) -> None:
        zc, self._zc = self._zc, None
        if zc is None:
            return
        try:
            if self._info is not None:
                await zc.async_unregister_service(self._info)
            await zc.async_close()
        except Exception as e:  # noqa: BLE001
            log.warning("mDNS: ошибка при остановке объявления: %s", e)
