"""A real RTSP server for the camera-source tests: GStreamer's gst-rtsp-server.

The server runs in the *system* Python (`/usr/bin/python3`, which has PyGObject and the
GStreamer typelibs installed by `infra/local/test-peers.sh`), as a subprocess of the tests:
this file is both the test-side helper (`RtspServer`) and, run as a script, the server.

Paths served (a moving test pattern, so consecutive frames differ), on two ports:

    /h264    H.264 (x264enc)
    /h265    H.265 (x265enc)

`port` serves them to anyone; `secure_port` only with the basic-auth credentials given to the
server (anyone else gets 401 and a Basic challenge, like a real camera). gst-rtsp-server
answers 404, not 401, for a path that an anonymous client may not see on a port that also
serves anonymous clients, hence a second port rather than a protected path.

Each client gets its own pipeline (not shared), so every session starts on a key frame.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from types import TracebackType
from typing import Any

SYSTEM_PYTHON = os.environ.get("VIGIE_GST_PYTHON", "/usr/bin/python3")


class RtspServer:
    """A GStreamer RTSP server on localhost:`port`, started and stopped by the tests.

    stop() then start() serves again on the same port (a camera that went away and came back).
    """

    def __init__(
        self,
        port: int,
        width: int = 320,
        height: int = 240,
        fps: int = 25,
        user: str = "operator",
        password: str = "s3cret",
        secure_port: int | None = None,
    ) -> None:
        self.port = port
        self.secure_port = port + 1 if secure_port is None else secure_port
        self.width = width
        self.height = height
        self.fps = fps
        self.user = user
        self.password = password
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, path: str) -> str:
        """The open URL of `path` (no credentials needed)."""
        return f"rtsp://127.0.0.1:{self.port}{path}"

    def secure_url(self, path: str, user: str | None = None, password: str | None = None) -> str:
        """`path` on the port that requires credentials, with `user:password` if given."""
        userinfo = f"{user}:{password}@" if user is not None else ""
        return f"rtsp://{userinfo}127.0.0.1:{self.secure_port}{path}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = 15.0) -> None:
        if self.running:
            return
        command = [
            SYSTEM_PYTHON,
            __file__,
            f"--port={self.port}",
            f"--secure-port={self.secure_port}",
            f"--width={self.width}",
            f"--height={self.height}",
            f"--fps={self.fps}",
            f"--user={self.user}",
            f"--password={self.password}",
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._process = process
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                self._process = None
                raise RuntimeError(
                    f"RTSP server exited with code {process.returncode} on start "
                    f"(run infra/local/test-peers.sh?):\n{stderr}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"RTSP server did not listen on port {self.port} in {timeout_s} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # in case it was frozen
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()

    def freeze(self) -> None:
        """Suspends the server process: connections stay open but nothing more is sent (a hung
        camera)."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def __enter__(self) -> RtspServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# ----------------------------------------------------------------------- the server process


def _launch(encoder: str, width: int, height: int, fps: int) -> str:
    source = (
        f"videotestsrc is-live=true pattern=ball motion=sweep background-color=0xff203040 "
        f"! video/x-raw,width={width},height={height},framerate={fps}/1,format=I420 "
    )
    if encoder == "h264":
        encode = (
            f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} "
            "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1"
        )
    else:
        encode = (
            f"x265enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} "
            "! rtph265pay name=pay0 pt=96 config-interval=-1"
        )
    return f"( {source}! {encode} )"


def _serve(args: argparse.Namespace) -> None:  # pragma: no cover - runs in the system python
    import gi  # type: ignore[import-not-found]

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer  # type: ignore[import-not-found]

    Gst.init(None)

    def server(port: int, auth: Any) -> Any:
        made = GstRtspServer.RTSPServer()
        made.set_address("127.0.0.1")
        made.set_service(str(port))
        if auth is not None:
            made.set_auth(auth)
        mounts = made.get_mount_points()
        for path, encoder in (("/h264", "h264"), ("/h265", "h265")):
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(_launch(encoder, args.width, args.height, args.fps))
            factory.set_shared(False)
            if auth is not None:
                factory.add_role_from_structure(
                    Gst.Structure.new_from_string(
                        "viewer, media.factory.access=(boolean)true, "
                        "media.factory.construct=(boolean)true"
                    )
                )
            mounts.add_factory(path, factory)
        if made.attach(None) == 0:
            sys.exit(f"cannot listen on 127.0.0.1:{port}")
        return made

    # Without a default token, a client without (valid) credentials gets 401 + a Basic
    # challenge, as from a real camera (gst-rtsp-server's examples/test-auth.c).
    auth = GstRtspServer.RTSPAuth()
    viewer = GstRtspServer.RTSPToken()
    viewer.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), viewer)
    servers = [server(args.port, None), server(args.secure_port, auth)]

    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, lambda *_: loop.quit() or False)
    loop.run()
    del servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secure-port", type=int, required=True)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--user", default="operator")
    parser.add_argument("--password", default="s3cret")
    _serve(parser.parse_args())


if __name__ == "__main__":
    main()
