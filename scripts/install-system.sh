#!/usr/bin/env bash
# Installs the Debian packages sayso needs, only those missing. Safe to run twice.
#   chromium + chromium-driver : the browser sayso drives (through Selenium)
#   ffmpeg                     : the web app streams speech through it; decodes MP3/M4A uploads
#   espeak-ng                  : renders test/bench voices other than the default Piper voice
#   firefox-esr, default-jre-headless : only for the tests (SAYSO_SYSTEM_EXTRAS=1, set by `make test`):
#                                       Firefox is driven for real; Java runs the local Selenium Grid
#   pocketsphinx-testdata, alsa-utils : also only for the tests and `make bench` (SAYSO_SYSTEM_EXTRAS=1):
#                                       recordings of real speech the benchmark measures WER on
set -euo pipefail

need=()
want() { # want BINARY PACKAGE WHY
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "setup: $2 is missing ($3)"
    need+=("$2")
  fi
}
want chromium chromium "the browser sayso drives"
want chromedriver chromium-driver "lets Selenium drive Chromium"
want ffmpeg ffmpeg "audio streaming in the web app"
want espeak-ng espeak-ng "test voices"
want_file() { # want_file PATH PACKAGE WHY
  if [ ! -e "$1" ]; then
    echo "setup: $2 is missing ($3)"
    need+=("$2")
  fi
}
if [ "${SAYSO_SYSTEM_EXTRAS:-0}" = 1 ]; then
  want firefox-esr firefox-esr "Firefox tests"
  want java default-jre-headless "local Selenium Grid tests"
  want_file /usr/share/pocketsphinx/test/data/librivox/transcription pocketsphinx-testdata "real speech for the benchmark"
  want_file /usr/share/sounds/alsa/Front_Center.wav alsa-utils "real speech for the benchmark"
fi

if [ ${#need[@]} -eq 0 ]; then
  if [ "${SAYSO_SYSTEM_EXTRAS:-0}" = 1 ]; then
    echo "setup: system packages present (chromium, chromedriver, ffmpeg, espeak-ng, firefox-esr, java, real speech recordings)"
  else
    echo "setup: system packages present (chromium, chromedriver, ffmpeg, espeak-ng)"
  fi
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: need root to install: ${need[*]}. Run: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: this is not a Debian/Ubuntu system; install these yourself: ${need[*]}" >&2
  exit 1
fi
echo "setup: installing ${need[*]} with apt-get (about a minute)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" \
  | grep -E '^(Setting up|Unpacking) ' | sed 's/^/setup:   /' || true
check=(chromium chromedriver ffmpeg)
if [ "${SAYSO_SYSTEM_EXTRAS:-0}" = 1 ]; then check+=(firefox-esr java); fi
for b in "${check[@]}"; do
  command -v "$b" >/dev/null || { echo "setup: $b still missing after apt-get" >&2; exit 1; }
done
echo "setup: system packages installed"
