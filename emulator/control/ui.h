/* ui.h - the dashboard's assets (emulator/control/ui/), compiled into the
 * binary by scripts/embed_ui.cmake and served under /_emulator/ui. */
#ifndef CHSM_CONTROL_UI_H
#define CHSM_CONTROL_UI_H

#include <stddef.h>

typedef struct chsm_ui_asset {
    const char *name;         /* file name: "index.html", "app.js" */
    const char *content_type; /* "text/javascript; charset=utf-8" */
    const char *etag;         /* quoted strong validator (SHA-256 prefix of the bytes) */
    const unsigned char *data;
    size_t len;
} chsm_ui_asset;

/* The embedded assets, ending with an entry whose name is NULL (generated). */
extern const chsm_ui_asset chsm_ui_assets[];

/* chsm_ui_asset_find returns the asset named name (exact match), or NULL. */
const chsm_ui_asset *chsm_ui_asset_find(const char *name);

#endif
