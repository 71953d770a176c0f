#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt already uses for bookworm (deb822 .sources or a
# one-line sources.list), so scripts reach Debian the way the machine is set up to, naming no
# host themselves. Exit 1 when apt has no such source.
set -euo pipefail
mirror=$(awk '/^URIs:/ { uri = $2 } /^Suites:.*bookworm( |$)/ && uri { print uri; exit }' \
  /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || { echo 'debian-mirror: no bookworm source in apt' >&2; exit 1; }
printf '%s\n' "$mirror"
