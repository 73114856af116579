"""Fixtures: the real hinetd binary and real local origins.

``HINETD_BIN`` names the daemon binary (the Rust test that runs this suite sets it; otherwise
``target/debug/hinetd`` of the checkout is used if it exists). For HTTPS the suite needs a
certificate for 127.0.0.1: ``HINET_TEST_TLS_CERT`` and ``HINET_TEST_TLS_KEY`` (PEM files), or
else one made with the ``openssl`` command; without either, the HTTPS tests are skipped. The
daemon trusts that certificate through ``--ca-file``.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

import hinet
from origin import Origin

REPO = Path(__file__).resolve().parents[3]
STARTUP_TIMEOUT = 10.0


def _hinetd_bin() -> str:
    path = os.environ.get("HINETD_BIN")
    if path:
        return path
    built = REPO / "target" / "debug" / "hinetd"
    if built.exists():
        return str(built)
    pytest.exit("set HINETD_BIN to the hinetd binary (or build it: cargo build -p hinetd)", returncode=4)


class Daemon:
    """``hinetd --socket <tmp>/hinetd.sock`` as a child process, up once the socket accepts."""

    def __init__(self, args: List[str]) -> None:
        # Not pytest's tmp_path: socket paths must stay under 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="hinet-py-")
        self.socket = os.path.join(self.dir, "hinetd.sock")
        self._log = open(os.path.join(self.dir, "hinetd.log"), "wb")
        # The daemon reads HINETD_* variables as its configuration and refuses unknown ones
        # (HINETD_BIN is this suite's); everything it needs is on its command line.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HINETD_")}
        self.proc = subprocess.Popen(
            [_hinetd_bin(), "--socket", self.socket, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._accepts():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RuntimeError(f"hinetd did not start:\n{log}")
            time.sleep(0.02)

    def _accepts(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(self.socket)
                return True
            except OSError:
                return False

    def log(self) -> str:
        with open(os.path.join(self.dir, "hinetd.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _make_cert(directory: str) -> Optional[Tuple[str, str]]:
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    # A leaf, not a CA (webpki refuses a CA certificate as a server's own), valid for 127.0.0.1.
    config = os.path.join(directory, "openssl.cnf")
    with open(config, "w") as f:
        f.write(
            "[req]\ndistinguished_name = dn\nx509_extensions = leaf\nprompt = no\n"
            "[dn]\nCN = localhost\n"
            "[leaf]\nbasicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n"
            "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
        )
    done = subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-config",
            config,
            "-keyout",
            key,
            "-out",
            cert,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return (cert, key) if done.returncode == 0 else None


@pytest.fixture(scope="session")
def tls_files() -> Iterator[Optional[Tuple[str, str]]]:
    given = os.environ.get("HINET_TEST_TLS_CERT"), os.environ.get("HINET_TEST_TLS_KEY")
    if given[0] and given[1]:
        yield given  # type: ignore[misc]
        return
    directory = tempfile.mkdtemp(prefix="hinet-py-cert-")
    try:
        yield _make_cert(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def daemon(tls_files: Optional[Tuple[str, str]]) -> Iterator[Daemon]:
    """A fresh daemon per test (its HinetStatus counters start at zero); it trusts the test
    certificate."""
    d = Daemon(["--ca-file", tls_files[0]] if tls_files else [])
    yield d
    d.stop()


@pytest.fixture
def strict_daemon() -> Iterator[Daemon]:
    """A daemon that trusts only the built-in roots (not the test certificate)."""
    d = Daemon([])
    yield d
    d.stop()


@pytest.fixture
def client(daemon: Daemon) -> Iterator[hinet.Client]:
    with hinet.connect(daemon.socket, timeout=15) as c:
        yield c


@pytest.fixture(scope="session")
def origin() -> Iterator[Origin]:
    o = Origin()
    yield o
    o.stop()


@pytest.fixture(scope="session")
def tls_origin(tls_files: Optional[Tuple[str, str]]) -> Iterator[Origin]:
    if tls_files is None:
        pytest.skip("no test certificate: set HINET_TEST_TLS_CERT/KEY or install openssl")
    o = Origin(tls=tls_files)
    yield o
    o.stop()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
