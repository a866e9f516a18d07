/* generation.c - a number that moves whenever the store's rows may have changed. */
#include "store/store_internal.h"

uint64_t chsm_store_generation(chsm_store *s)
{
    /* SQLite counts every row an INSERT, UPDATE or DELETE touched on this
     * connection, committed or not; the emulator has one connection, so any
     * change to the rows moves the count. A rolled-back change moves it too,
     * which only costs a reader a needless refresh. */
    store_lock_(s);
    uint64_t n = (uint64_t)sqlite3_total_changes64(store_db_(s));
    store_unlock_(s);
    return n;
}
