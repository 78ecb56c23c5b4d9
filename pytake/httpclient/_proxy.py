"""Which proxy, if any, a request to an origin goes through, as the environment says.

httpx reads ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY`` only for the transports
it builds itself; a client given its own transport (as `pooled_client` gives `LeanTransport`)
gets no proxy from the environment at all.  `EnvironmentProxies` reads the same variables,
once, as the standard library finds them (lower-case names win over upper-case ones;
``HTTP_PROXY`` is ignored in a CGI request, the "httpoxy" attack), and `LeanTransport` asks
it once per origin.  ``NO_PROXY`` is a comma-separated list of exceptions: ``*`` (no proxy at
all), a host name that also covers its subdomains (``example.com``, ``.example.com``), a
``host:port``, an IP address or an IP network (``10.0.0.0/8``).
"""

from __future__ import annotations

import base64
import ipaddress
import urllib.request
from collections.abc import Mapping

import httpx

__all__ = ["EnvironmentProxies", "Proxy"]

_PROXY_SCHEMES = ("http", "https")


class Proxy:
    """One proxy: where to connect, and the ``Proxy-Authorization`` its URL's userinfo asks
    for (Basic), sent with every CONNECT and every request forwarded in absolute form."""

    def __init__(self, url: str | httpx.URL) -> None:
        text = str(url)
        # "proxy.local:3128" without a scheme is common in the environment; curl and httpx
        # read it as an HTTP proxy.
        self.url = httpx.URL(text if "://" in text else f"http://{text}")
        if self.url.scheme not in _PROXY_SCHEMES or not self.url.host:
            raise httpx.UnsupportedProtocol(
                f"proxy {self.url.copy_with(username=None, password=None)} is not an"
                " http:// or https:// proxy")
        self.scheme = self.url.scheme
        self.host = self.url.host
        self.port = self.url.port or (443 if self.scheme == "https" else 80)
        self.headers: list[tuple[bytes, bytes]] = []
        if self.url.username or self.url.password:
            credentials = f"{self.url.username}:{self.url.password}".encode()
            self.headers.append(
                (b"Proxy-Authorization", b"Basic " + base64.b64encode(credentials)))

    def __repr__(self) -> str:  # never the credentials
        return f"Proxy({self.scheme}://{self.host}:{self.port})"


class EnvironmentProxies:
    """The proxy settings of the environment, read when built.

    ``environment`` maps lower-case names without ``_proxy`` (``"https"``, ``"all"``,
    ``"no"``) to values, as `urllib.request.getproxies_environment` gives them; by default
    that function's answer for the process's environment.
    """

    def __init__(self, environment: Mapping[str, str] | None = None) -> None:
        self._settings = dict(
            urllib.request.getproxies_environment() if environment is None else environment)
        self._exceptions = [
            entry.strip().lower() for entry in self._settings.get("no", "").split(",")
            if entry.strip()]

    def __bool__(self) -> bool:
        """Whether any proxy is named at all (``NO_PROXY`` alone names none)."""
        return any(self._settings.get(name) for name in (*_PROXY_SCHEMES, "all"))

    def proxy_for(self, scheme: str, host: str, port: int) -> Proxy | None:
        """The proxy for ``scheme://host:port``, or ``None`` to connect directly."""
        url = self._settings.get(scheme) or self._settings.get("all")
        if not url:
            return None
        if self.bypasses(host, port):
            return None
        return Proxy(url)

    def bypasses(self, host: str, port: int) -> bool:
        """Whether ``NO_PROXY`` sends ``host:port`` direct (``host`` as httpx gives it: an
        IPv6 address without brackets)."""
        host = host.lower().rstrip(".")
        try:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = (
                ipaddress.ip_address(host))
        except ValueError:
            address = None
        for entry in self._exceptions:
            if entry == "*":
                return True
            name, _, entry_port = entry.rpartition(":")
            if entry_port.isdigit() and name and (
                    ":" not in name or (name.startswith("[") and name.endswith("]"))):
                # "host:port" or "[v6 address]:port"; a bare IPv6 address is taken whole
                if int(entry_port) != port:
                    continue
                entry = name
            entry = entry.strip("[]")
            if address is not None:
                try:
                    if address in ipaddress.ip_network(entry, strict=False):
                        return True
                except ValueError:
                    pass
                continue
            entry = entry.lstrip(".")
            if host == entry or host.endswith("." + entry):
                return True
        return False
