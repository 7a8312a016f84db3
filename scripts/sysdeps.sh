#!/usr/bin/env bash
# Installs the system packages Courtyard needs, only where missing:
#   Pango (WeasyPrint's text layout) and a CJK font for PDFs, always;
#   Debian's Chromium and Mosquitto, when called with "chromium" (the browser tests and the
#   alarm tests against a real MQTT broker).
set -euo pipefail

missing=()
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei fontconfig)
if [[ "${1:-}" == chromium ]] && ! [[ -x /usr/bin/chromium ]]; then
  missing+=(chromium)
fi
if [[ "${1:-}" == chromium ]] && ! [[ -x /usr/sbin/mosquitto ]]; then
  missing+=(mosquitto)
fi
((${#missing[@]})) || exit 0

echo "Installing system packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "Please install as root: apt-get install ${missing[*]}" >&2; exit 1
  fi
else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
