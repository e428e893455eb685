"""A small real HTTP camera for the MJPEG and snapshot tests (http.server in a thread).

Paths (a moving disc and a frame counter, so consecutive frames differ):

    /mjpeg              multipart/x-mixed-replace, parts with Content-Length
    /mjpeg-nolength     the same without Content-Length (framing by the JPEG markers)
    /mjpeg-corrupt      a stream whose parts are not JPEGs
    /mjpeg-corrupt-nolength   the same without Content-Length
    /snapshot.jpg       one JPEG per GET
    /snapshot-corrupt.jpg   image/jpeg that is not a JPEG
    /secure/<any of the above>   the same, only with Basic credentials (401 otherwise)

Anything else is 404.
"""

from __future__ import annotations

import base64
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np

BOUNDARY = "vigieframe"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.partition("?")[0]
        if path.startswith("/secure/"):
            if self.headers.get("Authorization") != self.server.camera.authorization:
                self.send_response(HTTPStatus.UNAUTHORIZED)
                self.send_header("WWW-Authenticate", 'Basic realm="vigie test camera"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path = path.removeprefix("/secure")
        match path:
            case "/mjpeg":
                self._stream(with_length=True, corrupt=False)
            case "/mjpeg-nolength":
                self._stream(with_length=False, corrupt=False)
            case "/mjpeg-corrupt":
                self._stream(with_length=True, corrupt=True)
            case "/mjpeg-corrupt-nolength":
                self._stream(with_length=False, corrupt=True)
            case "/snapshot.jpg":
                self._single(self.server.camera.jpeg())
            case "/snapshot-corrupt.jpg":
                self._single(b"this is not a JPEG image")
            case _:
                self.send_error(HTTPStatus.NOT_FOUND)

    def _single(self, body: bytes) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, with_length: bool, corrupt: bool) -> None:
        camera = self.server.camera
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            while not camera.stopping.is_set():
                body = b"\x00garbage, not a JPEG\xff" * 50 if corrupt else camera.jpeg()
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                if with_length:
                    head += f"Content-Length: {len(body)}\r\n"
                self.wfile.write(head.encode() + b"\r\n" + body + b"\r\n")
                self.wfile.flush()
                time.sleep(1 / camera.fps)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, camera: MjpegServer) -> None:
        super().__init__(("127.0.0.1", camera.port), _Handler)
        self.camera = camera


class MjpegServer:
    """An HTTP camera on localhost:`port`; start()/stop() like a camera going on and off."""

    def __init__(
        self,
        port: int,
        width: int = 320,
        height: int = 240,
        fps: float = 20.0,
        user: str = "operator",
        password: str = "s3cret",
    ) -> None:
        self.port = port
        self.width = width
        self.height = height
        self.fps = fps
        self.user = user
        self.password = password
        self.authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.stopping = threading.Event()
        self._counter = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str, user: str | None = None, password: str | None = None) -> str:
        userinfo = f"{user}:{password}@" if user is not None else ""
        return f"http://{userinfo}127.0.0.1:{self.port}{path}"

    def jpeg(self) -> bytes:
        """The next frame: a disc moving across a gradient, with its number written on it."""
        with self._lock:
            self._counter += 1
            n = self._counter
        image = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        image[:, :, 0] = np.linspace(40, 200, self.width, dtype=np.uint8)[None, :]
        image[:, :, 1] = 90
        x = int((n * 7) % self.width)
        cv2.circle(image, (x, self.height // 2), self.height // 6, (30, 220, 250), -1)
        cv2.putText(
            image, str(n), (8, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2, cv2.LINE_AA
        )
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        return bytes(encoded.tobytes())

    def start(self) -> None:
        if self._server is not None:
            return
        self.stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"mjpeg-server-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
