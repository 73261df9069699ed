/* The dashboard's files, embedded at build time (cmake/Embed.cmake): the
 * page, its script and style (src/web/) and the charting library. */
#ifndef LBSIM_WEB_ASSETS_H
#define LBSIM_WEB_ASSETS_H

#include <stddef.h>

typedef struct lbsim_web_asset_s {
  const char *path;           /* as requested: "/", "/app.js", ... */
  const char *type;           /* Content-Type */
  const unsigned char *data;
  size_t len;
} lbsim_web_asset_t;

extern const lbsim_web_asset_t lbsim_web_assets[];
extern const size_t lbsim_web_nassets;

#endif
