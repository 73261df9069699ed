# FindLibUV
# ---------
# Finds libuv. Debian's libuv1-dev ships a pkg-config file but no CMake
# package, so pkg-config is tried first, then a plain header/library search.
#
# Imported target:  LibUV::LibUV
# Result variables: LibUV_FOUND, LibUV_VERSION, LibUV_INCLUDE_DIRS, LibUV_LIBRARIES

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_LIBUV QUIET libuv)
endif()

find_path(LibUV_INCLUDE_DIR NAMES uv.h HINTS ${PC_LIBUV_INCLUDE_DIRS})
find_library(LibUV_LIBRARY NAMES uv libuv HINTS ${PC_LIBUV_LIBRARY_DIRS})

if(PC_LIBUV_VERSION)
  set(LibUV_VERSION ${PC_LIBUV_VERSION})
elseif(LibUV_INCLUDE_DIR AND EXISTS "${LibUV_INCLUDE_DIR}/uv/version.h")
  file(STRINGS "${LibUV_INCLUDE_DIR}/uv/version.h" _uv_ver REGEX "^#define UV_VERSION_(MAJOR|MINOR|PATCH) +[0-9]+")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX REPLACE ".*UV_VERSION_${_part} +([0-9]+).*" "\\1" _uv_${_part} "${_uv_ver}")
  endforeach()
  set(LibUV_VERSION "${_uv_MAJOR}.${_uv_MINOR}.${_uv_PATCH}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibUV
  REQUIRED_VARS LibUV_LIBRARY LibUV_INCLUDE_DIR
  VERSION_VAR LibUV_VERSION)

if(LibUV_FOUND)
  set(LibUV_INCLUDE_DIRS ${LibUV_INCLUDE_DIR})
  set(LibUV_LIBRARIES ${LibUV_LIBRARY})
  if(NOT TARGET LibUV::LibUV)
    add_library(LibUV::LibUV UNKNOWN IMPORTED)
    set_target_properties(LibUV::LibUV PROPERTIES
      IMPORTED_LOCATION "${LibUV_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${LibUV_INCLUDE_DIR}")
  endif()
endif()
mark_as_advanced(LibUV_INCLUDE_DIR LibUV_LIBRARY)
