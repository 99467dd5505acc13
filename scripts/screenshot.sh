#!/usr/bin/env bash
# Regenerates docs/report.png, the README's picture of the HTML report: the browser test renders an okta-sim
# org's page in Debian's headless Chromium and keeps its screenshot; this copies it into docs/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --quiet --test html_report the_page_shows_the_json_reports_numbers_in_chromium_on_small >&2
target=${CARGO_TARGET_DIR:-target}
cp "$target/tmp/html-report/report-small.png" docs/report.png
echo "docs/report.png: $(stat -c %s docs/report.png) bytes"
