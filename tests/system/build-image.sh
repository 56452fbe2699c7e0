#!/usr/bin/env bash
# build-image.sh DEB [OUTDIR]: makes the QEMU gateway of the system tests (README, "A real
# gateway") from Debian 12's packages and this repository's Debian package DEB, into
# OUTDIR:
#   disk.qcow2           the gateway's disk, root file system v1 in A (partition 2)
#   rootfs-VERSION.ext4  root file system images for the updates: v2, v3, and v3-broken
#                        (its init gives up at once: the kernel panics and reboots)
# With MO_SYSTEM_NEXT_BIN=PATH (a test build, -Dtest_hooks=true, --prefix=/usr, of this
# repository), root v2 carries that binary instead of the package's, playing the next
# release (MO_TEST_NEXT_RELEASE=1 for every unit: docs/compatibility.md), so that a
# deployment is continued by another build after the switch of root, as on a product
# whose update brings a new orchestrator.
#   build.log, times.txt
# Partitions of disk.qcow2 (GPT): 1 EFI System Partition (GRUB, grub.cfg, the boot
# environment), 2 root A, 3 root B (empty), 4 data (the Mender Client's state, the
# orchestrator's datastore, the microcontrollers' "flash").
#
# Two caches under MO_SYSTEM_CACHE (default /var/cache/mender-orchestrator-system), each
# keyed on the hash of its inputs, so that a second run rebuilds nothing:
#   base-KEY.tar   the mmdebstrap root (tests/system/base-packages.txt, minbase), about
#                  1.5 minutes with a nearby mirror
#   image-KEY/     OUTDIR's files (key: the base, DEB, this script and tests/system/guest/)
# OUTDIR may be omitted: the image is then only built into the cache, and its folder is
# printed. Otherwise OUTDIR gets hard links (or copies) of the cached files.
#
# Needs root, mmdebstrap, mkfs.ext4, mkfs.vfat, mtools, sfdisk, qemu-img,
# grub-efi-amd64-bin (grub-mkimage) and the Debian mirror for the base (scripts/bootstrap).
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 DEB [OUTDIR]" >&2; exit 2; }
deb=$(realpath "$1")
outdir=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${MO_SYSTEM_CACHE:-/var/cache/mender-orchestrator-system}
mirror=${MO_DEBIAN_MIRROR:-http://deb.debian.org/debian}

[ "$(id -u)" = 0 ] || { echo "build-image: run as root (mmdebstrap --mode=root, chroot)" >&2; exit 1; }
[ -f "$deb" ] || { echo "build-image: $1: no such package file" >&2; exit 1; }
for tool in mmdebstrap mkfs.ext4 mkfs.vfat mcopy mmd sfdisk qemu-img grub-mkimage; do
    command -v "$tool" >/dev/null || { echo "build-image: $tool is not installed (scripts/bootstrap installs it)" >&2; exit 1; }
done
mkdir -p "$cache"
# one build at a time (another run may use or build the same image)
exec 9>"$cache/.lock"
flock 9

# Sizes, MiB. A root file system image holds about 300 MiB.
ESP_MIB=32
ROOT_MIB=640
DATA_MIB=128
ROOTFS_IMAGE_MIB=380

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

base_key=$(hash_of "$here/base-packages.txt" <(sed -n '/^# --- base/,/^# --- end base/p' "$0"))
base=$cache/base-$base_key.tar
next_bin=${MO_SYSTEM_NEXT_BIN:-}
[ -z "$next_bin" ] || [ -x "$next_bin" ] || { echo "build-image: MO_SYSTEM_NEXT_BIN=$next_bin is not an executable" >&2; exit 1; }
image_key=$(hash_of <(echo "$base_key") "$deb" "$0" "$repo/demo/interfaces/rtos-interface" \
    $(find "$here/guest" -type f | sort) ${next_bin:+"$next_bin"})
image=$cache/image-$image_key

publish() {
    touch "$image"
    if [ -n "$outdir" ]; then
        mkdir -p "$outdir"
        for f in "$image"/*; do
            ln -f "$f" "$outdir/" 2>/dev/null || cp -f "$f" "$outdir/"
        done
    else
        echo "$image"
    fi
}

if [ -f "$image/done" ]; then
    publish
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gateway-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out"
log=$work/out/build.log
: >"$log"
times=$work/out/times.txt
step_start=$SECONDS
timed() {
    echo "$1: $((SECONDS - step_start)) s" >>"$times"
    step_start=$SECONDS
}

# --- base: the mmdebstrap root (its text is part of the base's cache key)
if [ ! -f "$base" ]; then
    packages=$(grep -vE '^[[:space:]]*(#|$)' "$here/base-packages.txt" | paste -sd,)
    # the initramfs holds only what mounts the root (all three are modules in Debian's
    # kernel): listed before the kernel's postinst makes it
    if ! mmdebstrap --quiet --mode=root --variant=minbase --include="$packages" \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && echo MODULES=list >"$1/etc/initramfs-tools/conf.d/gateway.conf" && printf "virtio_pci\nvirtio_blk\next4\n" >>"$1/etc/initramfs-tools/modules"' \
        bookworm "$work/base.tar" "$mirror" >>"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "build-image: mmdebstrap failed (log above)" >&2
        exit 1
    fi
    mv "$work/base.tar" "$base"
fi
# --- end base
timed base

# --- the v1 root: the base, our package, the gateway's configuration
root=$work/root
mkdir "$root"
tar -C "$root" -xf "$base"
in_root() { "$repo/tests/package/in-root.sh" "$root" "$@" >>"$log" 2>&1; }
cp "$deb" "$root/tmp/mender-orchestrator.deb"
in_root dpkg -i /tmp/mender-orchestrator.deb || { tail -n 30 "$log" >&2; echo "build-image: dpkg -i of $deb failed" >&2; exit 1; }
rm "$root/tmp/mender-orchestrator.deb"
g=$here/guest
install -m 0755 "$g/fw_printenv" "$g/fw_setenv" "$root/usr/sbin/"
install -D -m 0755 "$g/mender-device-identity" "$root/usr/share/mender/identity/mender-device-identity"
install -D -m 0755 "$g/mo-agent" "$root/usr/lib/mo-test/mo-agent"
install -D -m 0755 "$g/reboot-announce" "$root/usr/lib/mo-test/reboot-announce"
conf=$root/etc/mender-orchestrator/mender-orchestrator.conf
grep -q '"RebootCommand": \["reboot"\]' "$conf" || { echo "build-image: no RebootCommand [\"reboot\"] in $conf" >&2; exit 1; }
sed -i 's|"RebootCommand": \["reboot"\]|"RebootCommand": ["/usr/lib/mo-test/reboot-announce"]|' "$conf"
install -m 0644 "$g/mo-agent.service" "$root/etc/systemd/system/"
install -m 0755 "$g/rtos-interface" "$root/usr/share/mender-orchestrator/interfaces/v1/"
install -m 0644 "$g/fstab" "$root/etc/fstab"
install -D -m 0600 "$g/mender.conf" "$root/etc/mender/mender.conf"
echo gateway >"$root/etc/hostname"
mkdir -p "$root/boot/efi" "$root/data" "$root/releases"
# the client's state and the orchestrator's datastore live on the data partition
rm -rf "$root/var/lib/mender" "$root/var/lib/mender-orchestrator"
ln -s /data/mender "$root/var/lib/mender"
ln -s /data/mender-orchestrator "$root/var/lib/mender-orchestrator"
# standalone mode: no client daemon; no login on the console
install -D -m 0644 "$g/50-gateway.network" "$root/etc/systemd/network/50-gateway.network"
install -D -m 0644 "$g/mender-client-managed.conf" "$root/etc/systemd/system/mender-client.service.d/managed.conf"
in_root systemctl enable systemd-networkd.service mender-client.service
in_root systemctl mask serial-getty@ttyS0.service getty@tty1.service
in_root systemctl enable mo-agent.service
# only the kernel modules this machine has (virtio, ext4, vfat) and what they need
kver=$(ls "$root/usr/lib/modules")
keep="virtio_pci virtio_blk virtio_console virtio_net ext4 vfat nls_cp437 nls_ascii nls_iso8859-1 nls_utf8 autofs4 i6300esb"
"$repo/tests/package/in-root.sh" "$root" sh -c "for m in $keep; do modprobe -S $kver --show-depends \$m; done" \
    2>>"$log" | awk '$1 == "insmod" { sub("^/(usr/)?lib/modules/[^/]+/", "", $2); print $2 }' | sort -u >"$work/keep-modules"
[ -s "$work/keep-modules" ] || { echo "build-image: cannot list the kernel modules to keep" >&2; exit 1; }
(cd "$root/usr/lib/modules/$kver" && find kernel -name '*.ko*' | sort >"$work/all-modules" &&
    comm -23 "$work/all-modules" "$work/keep-modules" | xargs -r rm -f &&
    find kernel -type d -empty -delete)
in_root depmod "$kver"
rm -rf "$root/var/cache/apt/"*.bin "$root/var/lib/apt/lists/"* "$root/var/log/"*.log
timed root

# --- root file system images: the same root, told apart by /etc/gateway-release and
# the Mender Client's artifact_info (the Artifact name it reports before its first install)
make_rootfs() { # VERSION
    echo "$1" >"$root/etc/gateway-release"
    printf 'artifact_name=gateway-%s\n' "$1" >"$root/etc/mender/artifact_info"
    rm -f "$work/out/rootfs-$1.ext4"
    mkfs.ext4 -q -F -b 4096 -L "root-$1" -d "$root" "$work/out/rootfs-$1.ext4" "${ROOTFS_IMAGE_MIB}M" >>"$log" 2>&1
}
make_rootfs v1
if [ -n "$next_bin" ]; then
    cp "$root/usr/bin/mender-orchestrator" "$work/mo.saved"
    install -m 0755 "$next_bin" "$root/usr/bin/mender-orchestrator"
    mkdir -p "$root/etc/systemd/system.conf.d"
    printf '[Manager]\nDefaultEnvironment=MO_TEST_NEXT_RELEASE=1\n' >"$root/etc/systemd/system.conf.d/next-release.conf"
fi
make_rootfs v2
if [ -n "$next_bin" ]; then
    install -m 0755 "$work/mo.saved" "$root/usr/bin/mender-orchestrator"
    rm -r "$root/etc/systemd/system.conf.d"
fi
make_rootfs v3
# v3-broken: its init gives up at once (the kernel panics, and panic=5 reboots)
mv "$root/sbin/init" "$work/init.saved"
printf '#!/bin/sh\necho "gateway v3-broken: init gives up" >/dev/console\nexit 1\n' >"$root/sbin/init"
chmod 0755 "$root/sbin/init"
make_rootfs v3-broken
rm "$root/sbin/init"
mv "$work/init.saved" "$root/sbin/init"
timed rootfs-images

# --- the data partition: the client's state, the datastore with the Topology, the
# microcontrollers (the demo's RTOS Interface and one folder per microcontroller)
data=$work/data
mkdir -p "$data/mender" "$data/mender-orchestrator" "$data/mcu"
# the device's client: the System's type (the Manifest Artifacts of managed mode are for
# it); the rootfs-image Interface's client has the gateway's, in a data dir of its own
echo device_type=gateway-system >"$data/mender/device_type"
chmod 0700 "$data/mender-orchestrator"
install -m 0644 "$g/topology.yaml" "$data/mender-orchestrator/topology.yaml"
install -m 0755 "$repo/demo/interfaces/rtos-interface" "$data/mcu/rtos-interface"
for n in 1 2; do
    mkdir -p "$data/mcu/$n/firmware"
    echo "id=mcu-$n" >"$data/mcu/$n/Identity"
    echo version=rtos-v1 >"$data/mcu/$n/Provides"
    echo No >"$data/mcu/$n/NeedsArtifactReboot"
    echo Yes >"$data/mcu/$n/SupportsRollback"
done
mkfs.ext4 -q -F -b 4096 -L data -d "$data" "$work/data.ext4" "${DATA_MIB}M" >>"$log" 2>&1

# --- the EFI System Partition: GRUB (from grub-efi-amd64-bin), our grub.cfg, the boot
# environment (two copies) with root A selected
grub-mkimage -O x86_64-efi -p /EFI/BOOT -o "$work/BOOTX64.EFI" \
    part_gpt fat ext2 normal linux loadenv test echo regexp configfile gzio search all_video >>"$log" 2>&1
for copy in grubenv1 grubenv2; do
    grub-editenv "$work/$copy" create
    grub-editenv "$work/$copy" set mender_boot_part=2 mender_boot_part_hex=2 upgrade_available=0 bootcount=0
done
mkfs.vfat -C -n ESP "$work/esp.img" $((ESP_MIB * 1024)) >>"$log" 2>&1
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" "$g/grub.cfg" "$work/grubenv1" "$work/grubenv2" ::/EFI/BOOT/

# --- the disk
disk=$work/disk.raw
total=$((1 + ESP_MIB + 2 * ROOT_MIB + DATA_MIB + 1))
truncate -s "${total}M" "$disk"
sfdisk --quiet "$disk" >>"$log" 2>&1 <<EOF
label: gpt
start=1MiB, size=${ESP_MIB}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
size=${ROOT_MIB}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=root-a
size=${ROOT_MIB}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=root-b
size=${DATA_MIB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=data
EOF
put() { # IMAGE START-MIB
    dd if="$1" of="$disk" bs=1M seek="$2" conv=notrunc,sparse status=none
}
put "$work/esp.img" 1
put "$work/out/rootfs-v1.ext4" $((1 + ESP_MIB))
put "$work/data.ext4" $((1 + ESP_MIB + 2 * ROOT_MIB))
qemu-img convert -O qcow2 "$disk" "$work/out/disk.qcow2"
rm -f "$work/out/rootfs-v1.ext4"
timed disk

touch "$work/out/done"
rm -rf "$image"
mv "$work/out" "$image"
# images of other inputs, unused for two days, go
find "$cache" -maxdepth 1 -name 'image-*' ! -name "image-$image_key" -mtime +1 -exec rm -rf {} +
publish
