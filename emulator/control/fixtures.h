/* fixtures.h - ready-made starting states.
 *
 * A fixture is a JSON document of steps replayed through the emulator's own
 * request path (so it is validated by the same code as any client), inside
 * one store transaction: it applies whole or not at all. Format (documented
 * in docs/qa.md):
 *   {"format":"chsm-fixture","version":1,"description":"...",
 *    "variables":{"sub":"...","rg":"..."},
 *    "steps":[{"name":"...","method":"PUT","path":"/subscriptions/{sub}/...?api-version=...",
 *              "body":{...},"expect":[200,201],"save":{"var":"json.path"}},
 *             {"name":"...","hsm":"<cluster resource id>","method":"POST","path":"/users",
 *              "login":{"userType":"CO","username":"admin","password":"..."},"body":{...}}]}
 * "{var}" in paths and string values is replaced by a variable. */
#ifndef CHSM_CONTROL_FIXTURES_H
#define CHSM_CONTROL_FIXTURES_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct chsm_app;

/* chsm_fixture_apply replays fixture; on failure nothing is changed and err
 * names the bad field or the failed step and its error. */
int chsm_fixture_apply(struct chsm_app *app, const cJSON *fixture, char *err, size_t errlen);
/* chsm_fixture_apply_text parses and applies a fixture given as JSON text. */
int chsm_fixture_apply_text(struct chsm_app *app, const char *text, size_t len, char *err,
                            size_t errlen);
/* chsm_fixture_load applies a fixture by built-in name ("tutorial-ready") or file path. */
int chsm_fixture_load(struct chsm_app *app, const char *name_or_path, char *err, size_t errlen);
/* chsm_fixture_builtin returns the JSON text of a built-in fixture, or NULL. */
const char *chsm_fixture_builtin(const char *name);
/* chsm_fixture_builtin_names returns the NULL-terminated list of built-in fixture names. */
const char *const *chsm_fixture_builtin_names(void);

#endif
