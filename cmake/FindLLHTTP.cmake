# FindLLHTTP
# ----------
# Finds llhttp. An installed shared/static libllhttp (as newer distributions
# ship) is preferred. Otherwise the C sources that Debian's node-llhttp package
# installs (/usr/share/llhttp/{api,http,llhttp}.c and
# /usr/share/include/llhttp/llhttp.h) are compiled into a static library.
#
# The sources are always built with LLHTTP_STRICT_MODE=1: the lenient default
# accepts request smuggling (CVE-2023-30589).
#
# Imported target:  llhttp::llhttp
# Result variables: LLHTTP_FOUND, LLHTTP_VERSION, LLHTTP_FROM_SOURCE

find_path(LLHTTP_INCLUDE_DIR NAMES llhttp.h
  PATHS /usr/share/include/llhttp /usr/include/llhttp /usr/local/include/llhttp)
find_library(LLHTTP_LIBRARY NAMES llhttp)
find_path(LLHTTP_SOURCE_DIR NAMES llhttp.c api.c http.c
  PATHS /usr/share/llhttp NO_DEFAULT_PATH)

if(LLHTTP_INCLUDE_DIR AND EXISTS "${LLHTTP_INCLUDE_DIR}/llhttp.h")
  file(STRINGS "${LLHTTP_INCLUDE_DIR}/llhttp.h" _llhttp_ver REGEX "^#define LLHTTP_VERSION_(MAJOR|MINOR|PATCH) +[0-9]+")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX REPLACE ".*LLHTTP_VERSION_${_part} +([0-9]+).*" "\\1" _llhttp_${_part} "${_llhttp_ver}")
  endforeach()
  set(LLHTTP_VERSION "${_llhttp_MAJOR}.${_llhttp_MINOR}.${_llhttp_PATCH}")
endif()

set(LLHTTP_FROM_SOURCE OFF)
if(LLHTTP_LIBRARY)
  set(_llhttp_required LLHTTP_LIBRARY LLHTTP_INCLUDE_DIR)
else()
  set(LLHTTP_FROM_SOURCE ON)
  set(_llhttp_required LLHTTP_SOURCE_DIR LLHTTP_INCLUDE_DIR)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LLHTTP
  REQUIRED_VARS ${_llhttp_required}
  VERSION_VAR LLHTTP_VERSION)

if(LLHTTP_FOUND AND NOT TARGET llhttp::llhttp)
  if(LLHTTP_FROM_SOURCE)
    add_library(lbsim_llhttp STATIC
      "${LLHTTP_SOURCE_DIR}/api.c"
      "${LLHTTP_SOURCE_DIR}/http.c"
      "${LLHTTP_SOURCE_DIR}/llhttp.c")
    target_include_directories(lbsim_llhttp SYSTEM PUBLIC "${LLHTTP_INCLUDE_DIR}")
    target_compile_definitions(lbsim_llhttp PUBLIC LLHTTP_STRICT_MODE=1)
    set_target_properties(lbsim_llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON C_EXTENSIONS ON)
    add_library(llhttp::llhttp ALIAS lbsim_llhttp)
  else()
    add_library(llhttp::llhttp UNKNOWN IMPORTED)
    set_target_properties(llhttp::llhttp PROPERTIES
      IMPORTED_LOCATION "${LLHTTP_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${LLHTTP_INCLUDE_DIR}")
  endif()
endif()
mark_as_advanced(LLHTTP_INCLUDE_DIR LLHTTP_LIBRARY LLHTTP_SOURCE_DIR)
