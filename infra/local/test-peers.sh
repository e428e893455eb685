#!/usr/bin/env bash
# Installs what the camera-source tests need to run real peers (Debian packages):
#  - GStreamer's RTSP server and encoders (x264enc from plugins-ugly, x265enc from plugins-bad),
#    driven by the system python3 through PyGObject (tests/peers/rtsp_server.py);
#  - kcat, the independent Kafka client the security tests attack the broker with;
#  - chromium, the browser the room's page is tested in (Playwright drives /usr/bin/chromium).
# Idempotent: only runs apt-get when a package is missing, and apt-get update at most once.
set -euo pipefail

packages=(
  python3-gi
  gir1.2-gstreamer-1.0
  gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly
  kcat
  chromium
)

missing=()
for pkg in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != "installed" ]; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test-peers: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The system python3 (not the venv) drives GStreamer: check that every element is there.
/usr/bin/python3 - <<'PY'
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer  # noqa: E402,F401

Gst.init(None)
needed = ["videotestsrc", "x264enc", "x265enc", "h264parse", "h265parse", "rtph264pay",
          "rtph265pay", "videoconvert", "capsfilter"]
absent = [name for name in needed if Gst.ElementFactory.find(name) is None]
if absent:
    sys.exit(f"test-peers: GStreamer elements missing: {', '.join(absent)}")
PY
echo "test-peers: ready"
