#!/usr/bin/env bash
# Install the Debian packages gridcare needs, when they are missing and we can (root or sudo).
#   install-system-deps.sh build [PYTHON]  a C compiler and the Python headers (the native DL/T 645 decoder)
#   install-system-deps.sh [test]          PostgreSQL 15 server (integration tests), Chromium (browser
#                                          tests), Noto CJK fonts (Chinese pages)
set -euo pipefail

missing=()
if [ "${1:-test}" = build ]; then
  python="${2:-python3}"
  command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
  "$python" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    || missing+=(python3-dev)
else
  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing+=(fonts-noto-cjk fontconfig)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo -n"
else
  echo "system packages missing (${missing[*]}) and no root: install them with apt-get, or tests needing them fail" >&2
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system packages missing (${missing[*]}) and no apt-get on this machine" >&2
  exit 0
fi

echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: installed ${missing[*]}"
