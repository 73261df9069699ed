# Install rules, and the Debian package built from exactly those rules:
#
#   cmake --install build [--prefix /usr] [--strip]
#   cd build && cpack -G DEB          -> lbsim_<version>-<release>_<arch>.deb
#
# Installed: the binary, lbsim(1) gzipped, bash completion, the README and
# docs/, the Debian changelog and the machine-readable copyright file, and as
# examples a systemd template unit for the backends and the Slurm batch
# script of a sharded sweep (docs/sharded-sweeps.md).

include(GNUInstallDirs)

set(LBSIM_DEB_RELEASE 1 CACHE STRING "Debian revision of the package (the -N of VERSION-N)")
set(LBSIM_MAINTAINER "lbsim maintainers <lbsim@example.org>" CACHE STRING "Maintainer field of the Debian package")

set(LBSIM_DIST_DIR "${PROJECT_BINARY_DIR}/dist")
set(LBSIM_MANPAGE "${PROJECT_SOURCE_DIR}/src/cli/lbsim.1")
set(LBSIM_COMPLETION "${PROJECT_SOURCE_DIR}/src/cli/lbsim.bash")
set(LBSIM_UNIT_IN "${PROJECT_SOURCE_DIR}/src/cli/lbsim-backends@.service.in")
set(LBSIM_DEBIAN_DIR "${PROJECT_SOURCE_DIR}/cmake/debian")

# gzip -9n, as Debian wants: best compression, no file name or time stamp.
find_program(LBSIM_GZIP gzip REQUIRED)
set(LBSIM_GZIPPED "")
foreach(pair "${LBSIM_MANPAGE}|lbsim.1" "${LBSIM_DEBIAN_DIR}/changelog|changelog.Debian")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 src)
  list(GET pair 1 name)
  add_custom_command(OUTPUT "${LBSIM_DIST_DIR}/${name}.gz"
    COMMAND ${CMAKE_COMMAND} -E copy "${src}" "${LBSIM_DIST_DIR}/${name}"
    COMMAND ${LBSIM_GZIP} -9nf "${LBSIM_DIST_DIR}/${name}"
    DEPENDS "${src}"
    COMMENT "Compressing ${name}"
    VERBATIM)
  list(APPEND LBSIM_GZIPPED "${LBSIM_DIST_DIR}/${name}.gz")
endforeach()
add_custom_target(lbsim_dist ALL DEPENDS ${LBSIM_GZIPPED})

install(TARGETS lbsim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES "${LBSIM_DIST_DIR}/lbsim.1.gz" DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES "${LBSIM_COMPLETION}" DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME lbsim)
install(FILES README.md "${LBSIM_DEBIAN_DIR}/copyright" "${LBSIM_DIST_DIR}/changelog.Debian.gz"
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The README's links lead into docs/: its pages, pictures and example files
# go beside it, in the same tree.
install(DIRECTORY docs DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md" PATTERN "*.png" PATTERN "*.svg" PATTERN "*.txt")

# The unit names the installed binary, so it is written at install time,
# when the prefix is known (cpack installs into /usr, cmake --install into
# /usr/local unless told otherwise).
if(IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
  set(lbsim_bin_at_install "${CMAKE_INSTALL_BINDIR}/lbsim")
else()
  set(lbsim_bin_at_install "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/lbsim")
endif()
install(CODE "
  set(LBSIM_BIN \"${lbsim_bin_at_install}\")
  configure_file(\"${LBSIM_UNIT_IN}\" \"${LBSIM_DIST_DIR}/lbsim-backends@.service\" @ONLY)
")
install(FILES "${LBSIM_DIST_DIR}/lbsim-backends@.service" "${PROJECT_SOURCE_DIR}/src/cli/lbsim-sweep.sbatch"
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# ---- the Debian package --------------------------------------------------------

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lbsim)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "${LBSIM_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "adaptive HTTP load-balancer simulator on real sockets")
set(CPACK_PACKAGE_DESCRIPTION
  "lbsim runs simulated HTTP/1.1 backends whose latency drifts over time and a
client-side balancer that keeps a moving average of each backend's latency
and decides where each request goes, all in one process on one event loop,
printing a summary per round.

It compares balancing policies on identical, reproducible conditions:
bursts, open and closed loops, load-dependent and failing backends driven
by scenario files, replays of published experiments, Prometheus metrics and
an SVG report. The backends and the client can also run as separate
processes on separate hosts.")
set(CPACK_STRIP_FILES TRUE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE "${LBSIM_DEB_RELEASE}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${LBSIM_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Dependencies from the binary itself (dpkg-shlibdeps: needs dpkg-dev and file).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
include(CPack)
