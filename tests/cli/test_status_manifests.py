"""``ironlb status --manifests`` asks a speaker only where ``--speaker`` says one answers.

A walk through the lab found it asking the lab nodes' addresses from the host, where they are
not reachable (they live in the lab's network namespaces) and went out through the default
route. Here the Node's address is loopback and a real HTTP server counts who asks it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from ironlb.cli.main import main

NODE = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {"name": "n1"},
    "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]},
}


@pytest.fixture
def speaker() -> Iterator[tuple[int, list[str]]]:
    asked: list[str] = []

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = b"ironlb_layer2_announced_bool 0\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _status(tmp_path: Path, *extra: str) -> int:
    (tmp_path / "nodes.yaml").write_text(yaml.safe_dump(NODE))
    return main(["status", "--manifests", str(tmp_path), "-o", "json", *extra])


def test_files_alone_ask_no_node_address(
    tmp_path: Path, speaker: tuple[int, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    port, asked = speaker
    assert _status(tmp_path, "--metrics-port", str(port)) == 0
    assert asked == []


def test_a_named_speaker_is_asked(
    tmp_path: Path, speaker: tuple[int, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    port, asked = speaker
    assert _status(tmp_path, "--speaker", f"n1=http://127.0.0.1:{port}") == 0
    assert asked == ["/metrics"]
