# FindChartJS
# -----------
# Finds Chart.js as Debian's libjs-chart.js package installs it
# (/usr/share/javascript/chart.js/chart.min.js), to be embedded into lbsim at
# build time: the dashboard works with no network, and nothing is vendored.
#
# Result variables: ChartJS_FOUND, ChartJS_FILE (the minified UMD build),
#                   ChartJS_VERSION

find_file(ChartJS_FILE NAMES chart.min.js Chart.min.js
  PATHS /usr/share/javascript/chart.js /usr/local/share/javascript/chart.js
  NO_DEFAULT_PATH)

if(ChartJS_FILE)
  # The banner: " * Chart.js v3.9.1"
  file(STRINGS "${ChartJS_FILE}" _chartjs_banner LIMIT_COUNT 4 REGEX "Chart\\.js v[0-9]+\\.[0-9]+\\.[0-9]+")
  string(REGEX REPLACE ".*Chart\\.js v([0-9]+\\.[0-9]+\\.[0-9]+).*" "\\1" ChartJS_VERSION "${_chartjs_banner}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(ChartJS
  REQUIRED_VARS ChartJS_FILE ChartJS_VERSION
  VERSION_VAR ChartJS_VERSION)
mark_as_advanced(ChartJS_FILE)
