"""HTTPS for the API-server double: a throwaway CA, a server certificate, a TLS listener.

A real kube-apiserver is only reachable over HTTPS, and in-cluster credentials
(``load_incluster_config``) always build an ``https://`` URL verified against the
service account's ``ca.crt``; without TLS in the double that path cannot be tested.

The certificates come from the ``openssl`` command line (no Python dependency: the
``cryptography`` package is not in the venv). They are made per test in its tmp dir,
valid for a day, for the IP address the double listens on.

The handshake runs in the connection's own thread (``finish_request``), never in the
accepting thread, so a client that stalls or refuses the certificate cannot block the
listener. Failed handshakes are kept in ``ServerTLS.failures`` so a test can show that a
client reached the double and refused it (for instance ``TLSV1_ALERT_UNKNOWN_CA``).
"""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import subprocess
import threading
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .handler import _HTTPServer

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 10.0

__all__ = ["CertFiles", "ServerTLS", "TLSHTTPServer", "make_certs", "openssl_available"]


@dataclass(frozen=True)
class CertFiles:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def _openssl(*args: str | Path) -> None:
    result = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))}: {result.stderr.strip()}")


def make_certs(directory: Path, *, ip: str = "127.0.0.1", name: str = "kubeapi-double") -> CertFiles:
    """A fresh CA (``NAME-ca``) and a server certificate it signs for ``ip``, in ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    files = CertFiles(d / f"{name}-ca.crt", d / f"{name}-ca.key", d / f"{name}.crt", d / f"{name}.key")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl(
        "req", "-x509", *ec, "-keyout", files.ca_key, "-out", files.ca_cert, "-days", "1",
        "-subj", f"/CN={name}-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    csr = d / f"{name}.csr"
    ext = d / f"{name}.ext"
    ext.write_text(
        f"subjectAltName=IP:{ip}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    _openssl("req", "-new", *ec, "-keyout", files.server_key, "-out", csr, "-subj", f"/CN={ip}")
    _openssl(
        "x509", "-req", "-in", csr, "-CA", files.ca_cert, "-CAkey", files.ca_key, "-CAcreateserial",
        "-out", files.server_cert, "-days", "1", "-extfile", ext,
    )  # fmt: skip
    return files


class ServerTLS:
    """What the double needs to serve HTTPS, and the record of handshakes that failed."""

    def __init__(self, certs: CertFiles) -> None:
        self.certs = certs
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certs.server_cert, certs.server_key)
        self._lock = threading.Lock()
        self._failures: list[str] = []

    def record_failure(self, reason: str) -> None:
        with self._lock:
            self._failures.append(reason)

    @property
    def failures(self) -> list[str]:
        with self._lock:
            return list(self._failures)


class TLSHTTPServer(_HTTPServer):
    """The double's HTTP server with a TLS handshake at the start of each connection's thread."""

    tls: ServerTLS

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            conn = self.tls.context.wrap_socket(request, server_side=True)  # detaches ``request``
        except (OSError, ValueError) as exc:
            log.info("TLS handshake with %s failed: %s", client_address, exc)
            self.tls.record_failure(str(exc))
            return
        conn.settimeout(None)
        try:
            super().finish_request(conn, client_address)
        finally:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_WR)
            conn.close()
