# Read by cpack once per generator, before it installs the project into that
# generator's staging tree: packaging/CMakeLists.txt picks the systemd unit
# directory from this variable (/lib/... for the .deb, /usr/lib/... for RPM).
set(ENV{RUNNEL_CPACK_GENERATOR} "${CPACK_GENERATOR}")
