#!/usr/bin/env bash
# Renders a report.html in headless Chromium (Debian's `chromium` package) to a PNG and checks
# that the page rendered: the PNG exists and is not blank. Usage:
#   scripts/screenshot_report.sh runs/quickstart/report.html [out.png] [width] [height]
set -euo pipefail
html=$(realpath "$1")
png=${2:-${html%.html}.png}
width=${3:-1400}
height=${4:-2400}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "chromium not found: apt-get install chromium" >&2
  exit 2
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# The flags keep Chromium off the network (this machine has none) and out of the GPU.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size="$width,$height" \
  --screenshot="$png" "file://$html" >/dev/null 2>&1
python3 - "$png" <<'PY'
import struct, sys, zlib
path = sys.argv[1]
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
# Decode the IDAT stream and count distinct byte values: a blank page has almost none.
pos, idat = 8, b""
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + length]
    pos += 12 + length
pixels = zlib.decompress(idat)
distinct = len(set(pixels[::7]))
assert distinct > 20, f"{path}: the page looks blank ({distinct} distinct byte values)"
print(f"{path}: {len(data)} bytes, {distinct} distinct byte values: rendered")
PY
