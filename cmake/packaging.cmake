# Install layout (`cmake --install`) and the Debian package (`cpack -G DEB`).
#
# With the install prefix /usr (what the .deb uses):
#   /usr/bin/sip_trunk_exporter
#   /etc/sip_trunk_exporter/config.toml                     config/example.toml; kept if present
#   /usr/lib/systemd/system/sip_trunk_exporter.service      deploy/sip_trunk_exporter.service
#   /usr/share/sip_trunk_exporter/example.toml              config/example.toml, always current
#   /usr/share/sip_trunk_exporter/alerts/                   alerts/: rules, Alertmanager example, runbook
#   /usr/share/sip_trunk_exporter/dashboards/               dashboards/: Grafana JSON, provisioning
#   /usr/share/doc/sip_trunk_exporter/                      README.md, CHANGELOG.md, LICENSE
#   /usr/share/doc/sip-trunk-exporter/copyright             deploy/debian/copyright (Apache-2.0)
# Any other prefix P puts the config in P/etc (as GNUInstallDirs does: /usr -> /etc) and the
# unit in P/lib/systemd/system (/usr/local/lib/systemd/system is on systemd's search path).
# The unit's paths are rewritten at install time for the prefix actually used, so
# `cmake --install build --prefix X` and CPack (which installs with prefix /usr) both get a unit
# that points at the installed binary and config.
include(GNUInstallDirs)

set(STX_SYSTEMD_UNIT_DIR "" CACHE STRING
  "Where to install the systemd unit (default: <prefix>/lib/systemd/system)")

install(TARGETS sip_trunk_exporter RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(FILES config/example.toml DESTINATION ${CMAKE_INSTALL_DATADIR}/sip_trunk_exporter)
install(FILES README.md CHANGELOG.md LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Debian policy 12.5: the machine-readable copyright under the package's own doc directory.
install(FILES deploy/debian/copyright
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/sip-trunk-exporter)

# Rules and dashboards are installed as they are in the tree when `cmake --install` runs.
# Rendered output only: the jsonnet sources and render scripts stay in the repository.
install(DIRECTORY alerts/ DESTINATION ${CMAKE_INSTALL_DATADIR}/sip_trunk_exporter/alerts
  OPTIONAL FILES_MATCHING PATTERN "*.yml" PATTERN "*.yaml" PATTERN "*.md")
install(DIRECTORY dashboards/ DESTINATION ${CMAKE_INSTALL_DATADIR}/sip_trunk_exporter/dashboards
  OPTIONAL FILES_MATCHING PATTERN "*.json" PATTERN "*.yml" PATTERN "*.yaml"
  PATTERN "lib" EXCLUDE)

# The config (kept when it already exists, so reinstalling never overwrites an operator's
# edits; the .deb's conffile handling does the same for packages) and the unit, both with
# paths from the effective install prefix.
install(CODE "
  set(stx_source_dir \"${PROJECT_SOURCE_DIR}\")
  set(stx_generated_dir \"${CMAKE_CURRENT_BINARY_DIR}/generated/install\")
  set(stx_bindir \"${CMAKE_INSTALL_BINDIR}\")
  set(stx_docdir \"${CMAKE_INSTALL_DOCDIR}\")
  set(stx_unit_dir \"${STX_SYSTEMD_UNIT_DIR}\")
" CODE [[
  set(prefix "${CMAKE_INSTALL_PREFIX}")
  if(prefix STREQUAL "/usr" OR prefix STREQUAL "/")
    set(sysconfdir "/etc")
  else()
    set(sysconfdir "${prefix}/etc")
  endif()
  if(stx_unit_dir STREQUAL "")
    set(stx_unit_dir "${prefix}/lib/systemd/system")
  endif()
  string(REGEX REPLACE "^//" "/" bindir "${prefix}/${stx_bindir}")
  string(REGEX REPLACE "^//" "/" docdir "${prefix}/${stx_docdir}")

  set(config "$ENV{DESTDIR}${sysconfdir}/sip_trunk_exporter/config.toml")
  if(EXISTS "${config}")
    message(STATUS "Keeping existing: ${config}")
  else()
    file(INSTALL DESTINATION "${sysconfdir}/sip_trunk_exporter" TYPE FILE
      PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
      RENAME config.toml FILES "${stx_source_dir}/config/example.toml")
  endif()

  file(READ "${stx_source_dir}/deploy/sip_trunk_exporter.service" unit)
  string(REPLACE "/usr/bin/sip_trunk_exporter" "${bindir}/sip_trunk_exporter" unit "${unit}")
  string(REPLACE "/etc/sip_trunk_exporter/" "${sysconfdir}/sip_trunk_exporter/" unit "${unit}")
  string(REPLACE "file:/usr/share/doc/sip_trunk_exporter/" "file:${docdir}/" unit "${unit}")
  # One file per destination, so that concurrent installs (tests, CPack) don't race.
  string(MD5 key "$ENV{DESTDIR}|${prefix}|${stx_unit_dir}")
  set(generated "${stx_generated_dir}/sip_trunk_exporter.service.${key}")
  file(WRITE "${generated}" "${unit}")
  file(INSTALL DESTINATION "${stx_unit_dir}" TYPE FILE
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
    RENAME sip_trunk_exporter.service FILES "${generated}")
]])

# --- Debian package ----------------------------------------------------------------------------
# Debian package names allow no underscore: the package is sip-trunk-exporter, the binary,
# unit and paths keep sip_trunk_exporter.
set(STX_DEB_MAINTAINER "sip_trunk_exporter developers <sip-trunk-exporter@invalid>" CACHE STRING
  "Maintainer field of the .deb")

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "sip-trunk-exporter")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Prometheus exporter that probes SIP trunks with OPTIONS")
set(CPACK_PACKAGE_DESCRIPTION "\
sip_trunk_exporter sends SIP OPTIONS pings to each configured trunk, gateway or\n\
proxy over UDP, retransmitting like a real SIP client, and serves up/down state\n\
with hysteresis, response codes, failure reasons and round-trip times as\n\
Prometheus metrics. It ships a hardened systemd unit (not enabled on install),\n\
alert rules and Grafana dashboards.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CHECKSUM "SHA256")

set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${STX_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)             # Depends from the linked libraries
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "procps")      # /bin/kill, the unit's ExecReload
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# conffiles, and maintainer scripts that do what dh_installsystemd would for a unit that is
# not enabled on install: daemon-reload, restart on upgrade, stop on removal.
set(stx_deb_control "${CMAKE_CURRENT_BINARY_DIR}/deb-control")
file(MAKE_DIRECTORY "${stx_deb_control}")
file(WRITE "${stx_deb_control}/conffiles" "/etc/sip_trunk_exporter/config.toml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${stx_deb_control}/conffiles"
  "${PROJECT_SOURCE_DIR}/deploy/debian/postinst"
  "${PROJECT_SOURCE_DIR}/deploy/debian/prerm"
  "${PROJECT_SOURCE_DIR}/deploy/debian/postrm")

include(CPack)
