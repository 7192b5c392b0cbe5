#!/usr/bin/env bash
# Renders an HTML report (`dlncheck check --html`, `dlncheck report`) in headless Chromium to a
# PNG, and fails when the page logs anything to the console (a script error, a blocked load) or
# holds a <script> or loads another file; the report must be inert and self-contained.
#
#   scripts/html-screenshot.sh report.html [report.png]     (HEIGHT=4000 sets the window height)
#
# Needs Chromium (Debian: `apt-get install -y chromium`). Exit codes: 0 rendered cleanly,
# 1 console messages or a script in the page, 2 usage or Chromium missing.
set -euo pipefail
html=${1:?usage: scripts/html-screenshot.sh REPORT.html [OUT.png]}
png=${2:-${html%.html}.png}
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chrome" ]; then
    echo "html-screenshot: chromium not found (Debian: apt-get install -y chromium)" >&2
    exit 2
fi
[ -f "$html" ] || { echo "html-screenshot: no such file: $html" >&2; exit 2; }
if grep -qi '<script' "$html"; then
    echo "html-screenshot: $html contains a <script> element" >&2
    exit 1
fi
if grep -Eiq '<(img|link|iframe|object|embed|video|audio)[ >]|@import|url\(' "$html"; then
    echo "html-screenshot: $html loads another file (img, link, iframe, @import or url()): not self-contained" >&2
    exit 1
fi
abs=$(realpath "$html")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -f "$png"
# --no-sandbox: Chromium refuses to run as root otherwise; the page is our own, with no script.
timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$work/profile" \
    --window-size="1100,${HEIGHT:-4000}" --hide-scrollbars --enable-logging=stderr --v=0 \
    --screenshot="$png" "file://$abs" >"$work/stdout" 2>"$work/log" || {
    echo "html-screenshot: chromium failed:" >&2
    tail -20 "$work/log" >&2
    exit 1
}
if grep -q ':CONSOLE' "$work/log"; then
    echo "html-screenshot: console messages while rendering $html:" >&2
    grep ':CONSOLE' "$work/log" >&2
    exit 1
fi
if [ ! -s "$png" ]; then
    echo "html-screenshot: no screenshot written" >&2
    exit 1
fi
echo "html-screenshot: $png ($(wc -c <"$png") bytes), no console messages"
