#!/usr/bin/env bash
# Debian packages the observatory uses beyond Python wheels:
#   astrometry.net + Tycho-2 index files  plate solving, and the simulator's star catalogue
#   postgresql                            the PostgreSQL half of the database tests
#   chromium                              rendering the night report in a browser test
#   kstars-data                           bright stars by HD number (target names)
# Installed when running as root and missing; otherwise the missing ones are named, and the
# tests and night steps that need them are skipped with that reason.
set -u
packages=(astrometry.net astrometry-data-tycho2-10-19-littleendian postgresql chromium kstars-data)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || { echo "apt-get could not install ${missing[*]}" >&2; exit 1; }
else
  echo "not installed (needs root: apt-get install ${missing[*]}); the steps and tests that need them are skipped" >&2
fi
exit 0
