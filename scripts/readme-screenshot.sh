#!/usr/bin/env bash
# Makes docs/images/report.png, the README's picture: the dashboard of the sample log and its inventory, the first
# 1,500 pixels of it at 1,280 wide, in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# lmod-parse exits 1 on the sample: it holds malformed lines on purpose.
{ node bin/lmod-parse.js --quiet examples/lmod.log 2>/dev/null || [ $? -eq 1 ]; } > "$tmp/records.ndjson"
# In the temporary folder, so the page names the database as the README's first command makes it.
cd "$tmp"
node "$root/bin/lmod-dedupe.js" --quiet < records.ndjson | node "$root/bin/lmod-load.js" --quiet --db sqlite:./lmod_tracking.sqlite
node "$root/bin/lmod-report.js" --db sqlite:./lmod_tracking.sqlite html --inventory "$root/examples/inventory.txt" > page.html
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1500 \
  --screenshot="$root/docs/images/report.png" "file://$tmp/page.html" 2>/dev/null
echo "docs/images/report.png"
