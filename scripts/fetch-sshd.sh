#!/bin/sh
# An OpenSSH server for the SSH integration test, unpacked into .build/sshd from Debian's
# packages (nothing is installed system-wide, and no system sshd is started). The test runs
# it as a dedicated unprivileged user on a loopback port.
set -eu
dest=${1:-.build/sshd}
if [ -x "$dest/root/usr/sbin/sshd" ]; then
    exit 0
fi
command -v apt-get >/dev/null || { echo "fetch-sshd: needs apt-get (a Debian or Ubuntu host)" >&2; exit 1; }
mkdir -p "$dest/debs"
cd "$dest/debs"
packages="openssh-server openssh-sftp-server libwrap0"
command -v ssh >/dev/null || packages="$packages openssh-client"
# apt-get download runs as _apt when it can; a root-owned folder makes it warn, not fail
# shellcheck disable=SC2086 # the package list is meant to split into words
if ! apt-get download -qq $packages 2>/dev/null; then
    apt-get update -qq
    apt-get download -qq $packages
fi
for deb in ./*.deb; do
    dpkg-deb -x "$deb" ../root
done
test -x ../root/usr/sbin/sshd
