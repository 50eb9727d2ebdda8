# CPack settings for runnel_<version>_<arch>.deb and runnel-<version>.<arch>.rpm.
# Included from packaging/CMakeLists.txt.

set(CPACK_GENERATOR "DEB;RPM")
set(CPACK_PACKAGE_NAME runnel)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The runnel authors")
set(CPACK_PACKAGE_CONTACT "runnel maintainers <runnel@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "sandboxed code-execution server")
set(CPACK_PACKAGE_DESCRIPTION
"runnel runs snippets of code sent over WebSocket or HTTP in a throw-away
Linux sandbox (user, pid, mount, network, ipc, uts and cgroup namespaces,
seccomp, no capabilities, rlimits and cgroup limits) and streams their
output back as it happens. It speaks the ranna protocol, a Linkis entrance,
a Zeppelin notebook socket and Lenses SQL, and serves a playground page.
The service is installed but not enabled: systemctl enable --now runnel.")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://github.com/runnel/runnel")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/CPackProjectConfig.cmake)
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "packages are meant to be built with -DCMAKE_INSTALL_PREFIX=/usr "
                  "(now ${CMAKE_INSTALL_PREFIX}); runneld looks for its specs there")
endif()

# ---- Debian ---------------------------------------------------------------
execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE _deb_arch
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT _deb_arch)
  set(_deb_arch amd64)
endif()
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${_deb_arch})
set(CPACK_DEBIAN_FILE_NAME "runnel_${PROJECT_VERSION}_${_deb_arch}.deb")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps finds libwebsockets17, libuv1, libcjson1, libseccomp2,
# libcap2, libssl3, libsqlite3-0, libpq5 and libc6 with their versions. The libuv
# event-loop support of libwebsockets is a plugin loaded at run time, which
# no ELF scan sees: name it. adduser is for the postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libwebsockets-evlib-uv, adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bubblewrap")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/deb/conffiles
    ${CMAKE_CURRENT_LIST_DIR}/deb/postinst
    ${CMAKE_CURRENT_LIST_DIR}/deb/prerm
    ${CMAKE_CURRENT_LIST_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# ---- RPM (Fedora names) ---------------------------------------------------
execute_process(COMMAND uname -m OUTPUT_VARIABLE _rpm_arch OUTPUT_STRIP_TRAILING_WHITESPACE)
set(CPACK_RPM_PACKAGE_ARCHITECTURE ${_rpm_arch})
set(CPACK_RPM_FILE_NAME "runnel-${PROJECT_VERSION}.${_rpm_arch}.rpm")
set(CPACK_RPM_PACKAGE_LICENSE "MIT")
set(CPACK_RPM_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_URL ${CPACK_PACKAGE_HOMEPAGE_URL})
set(CPACK_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
# The automatic dependency scan would name sonames (libwebsockets.so.17()...);
# name the Fedora packages instead, as the .deb names Debian's.
set(CPACK_RPM_PACKAGE_AUTOREQ OFF)
set(CPACK_RPM_PACKAGE_AUTOPROV OFF)
set(CPACK_RPM_PACKAGE_REQUIRES
    "libwebsockets, libuv, cjson, libseccomp, libcap, openssl-libs, sqlite-libs, libpq, glibc, shadow-utils, systemd")
set(CPACK_RPM_PACKAGE_REQUIRES_PRE "shadow-utils")
set(CPACK_RPM_PRE_INSTALL_SCRIPT_FILE ${CMAKE_CURRENT_LIST_DIR}/rpm/pre.sh)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${CMAKE_CURRENT_LIST_DIR}/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${CMAKE_CURRENT_LIST_DIR}/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${CMAKE_CURRENT_LIST_DIR}/rpm/postun.sh)
set(CPACK_RPM_USER_FILELIST "%config(noreplace) /etc/runnel/runnel.conf")
# Directories the base system owns: not ours to list.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /etc /var /var/lib /var/cache /usr/lib/systemd /usr/lib/systemd/system
    /usr/libexec /usr/share/man /usr/share/man/man1 /usr/share/man/man5
    /usr/share/doc)
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")

include(CPack)
