# mender-orchestrator from its git repository, built with its meson build (see
# docs/installation.md in the repository). Follows meta-mender's conventions: a _git recipe
# of low preference, the datastore /var/lib/mender-orchestrator a link to
# /data/mender-orchestrator on the data partition (it survives root file system updates),
# the managed-mode files (Update Module, inventory script) in the Mender Client's folders.
#
# NOT BUILT in the repository's CI (there is no BitBake there). It passes only what
# meson.build and meson_options.txt define; check it in your own Yocto tree (written for
# scarthgap).
#
# Usage: add this layer, set where your copy of the repository is (it names no public
# URL) and install the package:
#   MENDER_ORCHESTRATOR_GIT_URI = "git://git.example.com/mender-orchestrator.git;protocol=https;branch=main"
#   IMAGE_INSTALL:append = " mender-orchestrator"
# and put your Topology on the data partition from a bbappend:
#   SRC_URI:append = " file://topology.yaml"
#   do_install:append() {
#       install -m 0644 ${WORKDIR}/topology.yaml ${D}${MENDER_ORCHESTRATOR_DATASTORE}/
#   }

SUMMARY = "System-level update orchestrator (drop-in for Mender Orchestrator 1.0)"
DESCRIPTION = "Brings every Component of a System to the Artifacts a Manifest names, in \
order, with whole-System rollback; Components are driven by Interfaces modelled on Mender \
Update Modules v3."

LICENSE = "Apache-2.0"
# The project states its license in meson.build (project(..., license : 'Apache-2.0')) and
# ships no license file of its own.
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

# The version of meson.build's project(); scripts/check-version keeps the two equal.
PV = "0.2.0+git"

MENDER_ORCHESTRATOR_GIT_URI ??= ""
SRC_URI = "${MENDER_ORCHESTRATOR_GIT_URI}"
SRCREV ?= "${AUTOREV}"
S = "${WORKDIR}/git"

python () {
    if not d.getVar("MENDER_ORCHESTRATOR_GIT_URI"):
        raise bb.parse.SkipRecipe("set MENDER_ORCHESTRATOR_GIT_URI to the git URL of your mender-orchestrator repository")
}

# Downprioritize this recipe in version selections.
DEFAULT_PREFERENCE = "-1"

inherit meson pkgconfig systemd

DEPENDS = "libarchive openssl libyaml jansson sqlite3 curl"
# libcurl is loaded with dlopen, only for Artifacts from a repository: the build does not
# link it, so the runtime dependency is named here.
RDEPENDS:${PN} = "libcurl"

# The options meson_options.txt defines. The program's folders follow the meson class's
# prefix, sysconfdir, datadir and localstatedir (/usr, /etc, /usr/share, /var): the
# program looks in /etc/mender-orchestrator, /usr/share/mender-orchestrator and
# /var/lib/mender-orchestrator. libarchive as the shared library (security updates reach
# it); the unit tests (cmocka) are not built.
EXTRA_OEMESON = " \
    -Dmender_datadir=${datadir}/mender \
    -Dsystemdsystemunitdir=${systemd_system_unitdir} \
    -Dstatic_libarchive=disabled \
    -Dtests=disabled \
"

# The mcuboot-smp Interface (docs/interfaces.md) needs libcbor, which is in meta-oe: off
# unless asked for (PACKAGECONFIG:append:pn-mender-orchestrator = " mcuboot-smp").
PACKAGECONFIG ??= ""
PACKAGECONFIG[mcuboot-smp] = "-Dmcuboot_smp=enabled,-Dmcuboot_smp=disabled,libcbor"

# The boot-time resume of an interrupted standalone deployment.
SYSTEMD_SERVICE:${PN} = "mender-orchestrator-resume.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

MENDER_ORCHESTRATOR_DATASTORE ?= "/data/mender-orchestrator"

do_install:append() {
    install -d -m 0700 ${D}${MENDER_ORCHESTRATOR_DATASTORE}
    install -d -m 0755 ${D}${localstatedir}/lib
    ln -s ${MENDER_ORCHESTRATOR_DATASTORE} ${D}${localstatedir}/lib/mender-orchestrator
}

# The Manifest Artifact generator runs on build hosts: a package of its own, out of images.
PACKAGES =+ "${PN}-manifest-gen"
FILES:${PN}-manifest-gen = "${bindir}/mender-orchestrator-manifest-gen"
RDEPENDS:${PN}-manifest-gen = "mender-artifact"

FILES:${PN} += " \
    ${datadir}/mender/modules/v3/mender-orchestrator-manifest \
    ${datadir}/mender/inventory/mender-inventory-orchestrator-inventory \
    ${datadir}/mender/inventory/mender-inventory-mender-orchestrator \
    ${localstatedir}/lib/mender-orchestrator \
    ${MENDER_ORCHESTRATOR_DATASTORE} \
"
CONFFILES:${PN} = "${sysconfdir}/mender-orchestrator/mender-orchestrator.conf"
