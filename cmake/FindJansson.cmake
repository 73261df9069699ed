# FindJansson
# -----------
# Finds Jansson, the JSON library (Debian: libjansson-dev). Its pkg-config
# file is tried first, then a plain header/library search.
#
# Imported target:  Jansson::Jansson
# Result variables: Jansson_FOUND, Jansson_VERSION

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_JANSSON QUIET jansson)
endif()

find_path(Jansson_INCLUDE_DIR NAMES jansson.h HINTS ${PC_JANSSON_INCLUDE_DIRS})
find_library(Jansson_LIBRARY NAMES jansson HINTS ${PC_JANSSON_LIBRARY_DIRS})

if(PC_JANSSON_VERSION)
  set(Jansson_VERSION ${PC_JANSSON_VERSION})
elseif(Jansson_INCLUDE_DIR AND EXISTS "${Jansson_INCLUDE_DIR}/jansson.h")
  file(STRINGS "${Jansson_INCLUDE_DIR}/jansson.h" _jansson_ver REGEX "^#define JANSSON_VERSION +\"[0-9.]+\"")
  string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" Jansson_VERSION "${_jansson_ver}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Jansson
  REQUIRED_VARS Jansson_LIBRARY Jansson_INCLUDE_DIR
  VERSION_VAR Jansson_VERSION)

if(Jansson_FOUND AND NOT TARGET Jansson::Jansson)
  add_library(Jansson::Jansson UNKNOWN IMPORTED)
  set_target_properties(Jansson::Jansson PROPERTIES
    IMPORTED_LOCATION "${Jansson_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${Jansson_INCLUDE_DIR}")
endif()
mark_as_advanced(Jansson_INCLUDE_DIR Jansson_LIBRARY)
