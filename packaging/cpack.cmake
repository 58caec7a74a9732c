# CPack: the hearth-agent and hearth-server packages, one .deb and one .rpm each, from the install
# rules of the whole tree (component hearth-agent / hearth-server). Included once, from
# packaging/CMakeLists.txt. `cpack -G DEB` / `cpack -G RPM` in the build tree, or
# packaging/build-packages. RPMs name the libraries of the distribution they are built on: build
# them on the target distribution with the same CMake (see packaging/README.md).

set(_pkg ${CMAKE_CURRENT_SOURCE_DIR})

set(CPACK_PACKAGE_NAME hearth)
set(CPACK_PACKAGE_VENDOR "The Hearth authors")
set(CPACK_PACKAGE_CONTACT "${HEARTH_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL hearth-agent hearth-server)
set(CPACK_GENERATOR DEB RPM)
set(CPACK_SOURCE_GENERATOR "")
# Per-component synopses on Debian (see packaging/cpack-project.cmake).
set(CPACK_PROJECT_CONFIG_FILE ${_pkg}/cpack-project.cmake)

set(_agent_description
    "Hearth agent: this PC's security level, checked and reported
Checks that this workstation keeps the security level agreed with the employer:
disk encryption of every persistent mount and swap, company addresses routed
through a VPN tunnel, pending operating-system updates and reboots, and the
screen lock of every person with a desktop. Tells the person at the PC what to
fix, and reports the verdicts to the company's hearth-server over mutual
TLS. Runs as a hardened systemd service; `hearth-agent check` also works
without a server.")
set(_server_description
    "Hearth server: enrolment, signed policies and the compliance feed
The company side of Hearth: enrols home PCs running hearth-agent with
per-device certificates, serves each the signed policy of its security level,
stores their reports durably (SQLite or PostgreSQL) and serves IT the device
list and the compliance feed. Runs as its own system user under a hardened
systemd service.")

# --- DEB -------------------------------------------------------------------------------------
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_HEARTH-AGENT_PACKAGE_NAME hearth-agent)
set(CPACK_DEBIAN_HEARTH-AGENT_DESCRIPTION "${_agent_description}")
# adduser: the uploader's account; init-system-helpers: deb-systemd-helper/-invoke (libcurl4 and
# libssl3 come from shlibdeps: /usr/lib/hearth/hearth-upload links them; libsystemd0 too:
# /usr/lib/hearth/hearth-notify links sd-bus). The checks drive these
# tools when present (apt-get for updates, cryptsetup/dmsetup for ciphers, ip for routes,
# gsettings for GNOME); none is required for the agent to run.
set(CPACK_DEBIAN_HEARTH-AGENT_PACKAGE_DEPENDS "adduser, init-system-helpers (>= 1.54~)")
set(CPACK_DEBIAN_HEARTH-AGENT_PACKAGE_RECOMMENDS "iproute2, cryptsetup-bin, dmsetup")
set(CPACK_DEBIAN_HEARTH-AGENT_PACKAGE_SUGGESTS "libglib2.0-bin")
set(CPACK_DEBIAN_HEARTH-AGENT_PACKAGE_CONTROL_EXTRA
    "${_pkg}/debian/hearth-agent/conffiles;${_pkg}/debian/hearth-agent/postinst;${_pkg}/debian/hearth-agent/prerm;${_pkg}/debian/hearth-agent/postrm")

set(CPACK_DEBIAN_HEARTH-SERVER_PACKAGE_NAME hearth-server)
set(CPACK_DEBIAN_HEARTH-SERVER_DESCRIPTION "${_server_description}")
set(CPACK_DEBIAN_HEARTH-SERVER_PACKAGE_DEPENDS "adduser, init-system-helpers (>= 1.54~)")
set(CPACK_DEBIAN_HEARTH-SERVER_PACKAGE_CONTROL_EXTRA
    "${_pkg}/debian/hearth-server/conffiles;${_pkg}/debian/hearth-server/postinst;${_pkg}/debian/hearth-server/prerm;${_pkg}/debian/hearth-server/postrm")

# --- RPM -------------------------------------------------------------------------------------
set(CPACK_RPM_COMPONENT_INSTALL ON)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_LICENSE "Proprietary")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_AUTOREQPROV ON)
# Directories that belong to the distribution's filesystem/systemd packages.
list(APPEND CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
     /etc /lib /lib/systemd /lib/systemd/system /usr/lib/systemd /usr/lib/systemd/system
     /usr/share/man /usr/share/man/man1 /usr/share/man/man8 /usr/share/doc /usr/sbin /usr/bin)

set(CPACK_RPM_HEARTH-AGENT_PACKAGE_NAME hearth-agent)
set(CPACK_RPM_HEARTH-AGENT_PACKAGE_SUMMARY "Hearth agent: this PC's security level, checked and reported")
set(CPACK_RPM_HEARTH-AGENT_PACKAGE_DESCRIPTION "${_agent_description}")
set(CPACK_RPM_HEARTH-AGENT_PACKAGE_REQUIRES_PRE "shadow-utils")
set(CPACK_RPM_HEARTH-AGENT_USER_FILELIST
    "%config(noreplace) /etc/hearth/agent.conf" "%config(noreplace) /etc/hearth/policy.json")
set(CPACK_RPM_HEARTH-AGENT_PRE_INSTALL_SCRIPT_FILE ${_pkg}/rpm/hearth-agent-pre.sh)
set(CPACK_RPM_HEARTH-AGENT_POST_INSTALL_SCRIPT_FILE ${_pkg}/rpm/hearth-agent-post.sh)
set(CPACK_RPM_HEARTH-AGENT_PRE_UNINSTALL_SCRIPT_FILE ${_pkg}/rpm/hearth-agent-preun.sh)
set(CPACK_RPM_HEARTH-AGENT_POST_UNINSTALL_SCRIPT_FILE ${_pkg}/rpm/hearth-agent-postun.sh)

set(CPACK_RPM_HEARTH-SERVER_PACKAGE_NAME hearth-server)
set(CPACK_RPM_HEARTH-SERVER_PACKAGE_SUMMARY "Hearth server: enrolment, signed policies and the compliance feed")
set(CPACK_RPM_HEARTH-SERVER_PACKAGE_DESCRIPTION "${_server_description}")
set(CPACK_RPM_HEARTH-SERVER_PACKAGE_REQUIRES_PRE "shadow-utils")
set(CPACK_RPM_HEARTH-SERVER_USER_FILELIST
    "%config(noreplace) %attr(0640,root,hearth-server) /etc/hearth/server.conf")
set(CPACK_RPM_HEARTH-SERVER_PRE_INSTALL_SCRIPT_FILE ${_pkg}/rpm/hearth-server-pre.sh)
set(CPACK_RPM_HEARTH-SERVER_POST_INSTALL_SCRIPT_FILE ${_pkg}/rpm/hearth-server-post.sh)
set(CPACK_RPM_HEARTH-SERVER_PRE_UNINSTALL_SCRIPT_FILE ${_pkg}/rpm/hearth-server-preun.sh)
set(CPACK_RPM_HEARTH-SERVER_POST_UNINSTALL_SCRIPT_FILE ${_pkg}/rpm/hearth-server-postun.sh)

include(CPack)
cpack_add_component(hearth-agent DISPLAY_NAME "Hearth agent")
cpack_add_component(hearth-server DISPLAY_NAME "Hearth server")
