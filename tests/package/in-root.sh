#!/bin/sh
# in-root.sh ROOT COMMAND [ARG...]: runs COMMAND inside the root file system ROOT (made by
# tests/package/debian-root.sh) with chroot, in private mount and PID namespaces: /dev, a
# fresh /proc and /sys are mounted there for the command only and vanish with the
# namespace, so nothing stays mounted on this machine and no process outlives the
# command. The environment is cleared to a login's (PATH, HOME=/root, LANG=C.UTF-8, TERM)
# plus the NAME=VALUE pairs of MO_ROOT_ENV (space-separated). Exit status: the command's.
# As root.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 ROOT COMMAND [ARG...]" >&2; exit 2; }
root=$(cd "$1" && pwd)
shift
[ -x "$root/usr/bin/env" ] || { echo "in-root: $root holds no root file system" >&2; exit 1; }
# shellcheck disable=SC2086 # MO_ROOT_ENV is a list of words
exec unshare --mount --propagation private --pid --fork sh -c '
    root=$1
    shift
    mount --rbind /dev "$root/dev"
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys"
    exec chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" "$@"
' in-root "$root" ${MO_ROOT_ENV:-} "$@"
