/* versions.c - accepted api-versions per provider: those the current Azure
 * CLI, Az PowerShell and SDKs send (see docs/clients.md), plus the versions
 * of the specs in shared/specs. */
#include "arm/versions.h"

#include <stddef.h>

const char *const chsm_api_resources[] = {
    "2014-04-01", "2016-06-01", "2018-05-01", "2019-06-01", "2019-10-01",
    "2019-11-01", "2020-01-01", "2020-06-01", "2021-01-01", "2021-04-01",
    "2022-01-01", "2022-09-01", "2022-12-01", "2023-07-01", "2024-03-01",
    "2024-07-01", "2024-11-01", "2025-03-01", "2025-04-01", NULL,
};

const char *const chsm_api_msi[] = {
    "2018-11-30",         "2021-09-30-preview", "2022-01-31-preview", "2023-01-31",
    "2023-07-31-preview", "2024-11-30",         "2025-01-31-preview", NULL,
};

const char *const chsm_api_storage[] = {
    "2019-06-01", "2021-04-01", "2021-06-01", "2021-08-01", "2021-09-01",
    "2022-05-01", "2022-09-01", "2023-01-01", "2023-04-01", "2023-05-01",
    "2024-01-01", "2025-01-01", "2025-06-01", "2025-08-01", NULL,
};

const char *const chsm_api_authorization[] = {
    "2015-07-01",         "2018-01-01-preview", "2018-09-01-preview", "2020-04-01-preview",
    "2020-10-01-preview", "2022-04-01",         "2022-05-01-preview", NULL,
};

const char *const chsm_api_cloudhsm[] = {
    "2024-06-30-preview",
    "2025-03-31",
    NULL,
};

const char *const chsm_api_network[] = {
    "2020-11-01", "2021-05-01", "2022-01-01", "2022-07-01", "2022-09-01",
    "2023-02-01", "2023-04-01", "2023-05-01", "2023-09-01", "2023-11-01",
    "2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01", NULL,
};

const char *const chsm_api_recoveryservices[] = {
    "2023-02-01", "2023-04-01", "2023-06-01", "2023-08-01", "2024-01-01",
    "2024-04-01", "2024-10-01", "2025-02-01", NULL,
};

const char *const chsm_api_keyvault[] = {
    "2021-10-01",         "2022-07-01", "2022-11-01",
    "2023-02-01",         "2023-07-01", "2023-08-01-preview",
    "2024-04-01-preview", "2024-11-01", "2024-12-01-preview",
    "2025-05-01",         NULL,
};

/* Plus the previews SDKs shipped with (Debian's azure-keyvault-keys 4.8.0b3 sends 7.4-preview.1).
 */
const char *const chsm_api_managedhsm[] = {
    "7.2",         "7.3",           "7.4",           "7.5",           "7.6",           "2025-07-01",
    "7.3-preview", "7.4-preview.1", "7.5-preview.1", "7.6-preview.1", "7.6-preview.2", NULL,
};

const char *const chsm_api_compute[] = {
    "2022-03-02", "2022-08-01", "2022-11-01", "2023-01-02", "2023-03-01", "2023-04-02",
    "2023-07-01", "2023-09-01", "2023-10-02", "2024-03-01", "2024-03-02", "2024-07-01",
    "2024-11-01", "2025-01-02", "2025-04-01", NULL,
};
