/* test_client.c - the chsm client library: pure parts (option parsing, line
 * splitting, cfg files, FQDN mapping, error envelopes, LRO mode selection and
 * classification, endpoint discovery) and, when CHSM_EMULATOR names the
 * emulator binary, library calls against a real emulator started here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "chsmc.h"
#include "chsmc_args.h"
#include "chsmc_arm.h"
#include "chsmc_client.h"
#include "chsmc_config.h"
#include "chsmc_hsm.h"
#include "chsmc_lro.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- argument parsing ---- */

static const chsmc_opt_spec specs[] = {
    {"help", 'h', 0}, {"resource-group", 'g', 1}, {"wait", 0, 0}, {"location", 'l', 1}};

static void test_opts_parse(void **state)
{
    (void)state;
    char *argv[] = {"c1", "-g", "rg", "--wait", "--location=westeurope", "c2"};
    chsmc_opts o;
    char err[128];
    assert_int_equal(chsmc_opts_parse(specs, 4, 6, argv, &o, err, sizeof err), CHSMC_OK);
    assert_string_equal(chsmc_opts_get(&o, "resource-group"), "rg");
    assert_string_equal(chsmc_opts_get(&o, "location"), "westeurope");
    assert_true(chsmc_opts_has(&o, "wait"));
    assert_false(chsmc_opts_has(&o, "help"));
    assert_int_equal(o.npositionals, 2);
    assert_string_equal(o.positionals[0], "c1");
    assert_string_equal(o.positionals[1], "c2");
}

static void test_opts_errors(void **state)
{
    (void)state;
    chsmc_opts o;
    char err[128];
    char *unknown[] = {"--nope"};
    assert_int_equal(chsmc_opts_parse(specs, 4, 1, unknown, &o, err, sizeof err), CHSMC_EUSAGE);
    assert_non_null(strstr(err, "--nope"));
    char *missing[] = {"x", "-g"};
    assert_int_equal(chsmc_opts_parse(specs, 4, 2, missing, &o, err, sizeof err), CHSMC_EUSAGE);
    assert_non_null(strstr(err, "needs a value"));
    char *flagval[] = {"--wait=yes"};
    assert_int_equal(chsmc_opts_parse(specs, 4, 1, flagval, &o, err, sizeof err), CHSMC_EUSAGE);
    char *single_dash_word[] = {"-wait"};
    assert_int_equal(chsmc_opts_parse(specs, 4, 1, single_dash_word, &o, err, sizeof err),
                     CHSMC_EUSAGE);
    /* after "--" everything is positional, and negative numbers are values */
    char *dashdash[] = {"--", "--wait", "-5"};
    assert_int_equal(chsmc_opts_parse(specs, 4, 3, dashdash, &o, err, sizeof err), CHSMC_OK);
    assert_int_equal(o.npositionals, 2);
    assert_false(chsmc_opts_has(&o, "wait"));
}

static void test_split_line(void **state)
{
    (void)state;
    char **argv;
    int argc;
    assert_int_equal(
        chsmc_split_line("  genSymKey -l 'my label' -id \"a \\\"b\\\"\" # comment", &argv, &argc),
        CHSMC_OK);
    assert_int_equal(argc, 5);
    assert_string_equal(argv[0], "genSymKey");
    assert_string_equal(argv[2], "my label");
    assert_string_equal(argv[4], "a \"b\"");
    chsmc_argv_free(argv, argc);
    assert_int_equal(chsmc_split_line("", &argv, &argc), CHSMC_OK);
    assert_int_equal(argc, 0);
    chsmc_argv_free(argv, argc);
    assert_int_equal(chsmc_split_line("loginHSM 'open", &argv, &argc), CHSMC_EUSAGE);
    assert_null(argv);
}

static void test_dash_args(void **state)
{
    (void)state;
    char *argv[] = {"-u", "CU", "-s", "cu1", "-p", "user1234", "-nex"};
    static const char *const wv[] = {"u", "s", "p", NULL};
    static const char *const bare[] = {"nex", NULL};
    char err[128];
    assert_string_equal(chsmc_dash_value(7, argv, "s"), "cu1");
    assert_null(chsmc_dash_value(7, argv, "l"));
    assert_true(chsmc_dash_flag(7, argv, "nex"));
    assert_int_equal(chsmc_dash_check(7, argv, wv, bare, err, sizeof err), CHSMC_OK);
    assert_int_equal(chsmc_dash_check(6, argv, wv, NULL, err, sizeof err), CHSMC_OK);
    assert_int_equal(chsmc_dash_check(7, argv, wv, NULL, err, sizeof err), CHSMC_EUSAGE);
    char *dangling[] = {"-u"};
    assert_int_equal(chsmc_dash_check(1, dangling, wv, NULL, err, sizeof err), CHSMC_EUSAGE);
    long long v;
    assert_int_equal(chsmc_parse_int("262150", 1, 1LL << 31, &v), CHSMC_OK);
    assert_int_equal(v, 262150);
    assert_int_equal(chsmc_parse_int("12x", 1, 100, &v), CHSMC_EUSAGE);
    assert_int_equal(chsmc_parse_int("0", 1, 100, &v), CHSMC_EUSAGE);
}

/* ---- cfg files and FQDNs ---- */

static void test_cfg_parse(void **state)
{
    (void)state;
    chsmc_resource_cfg cfg;
    chsmc_error e;
    assert_int_equal(chsmc_cfg_parse("{ \"servers\": [ { \"hostname\" : "
                                     "\"hsm1.contoso-abcdef0123456789.cloudhsm.localhost\" } ] }",
                                     &cfg, &e),
                     CHSMC_OK);
    assert_string_equal(cfg.hostname, "hsm1.contoso-abcdef0123456789.cloudhsm.localhost");
    assert_string_equal(cfg.arm_url, "");
    char *text = chsmc_cfg_render("hsm1.x-0000000000000000.cloudhsm.localhost",
                                  "https://127.0.0.1:8443/", "/tmp/ca.pem");
    assert_non_null(text);
    assert_int_equal(chsmc_cfg_parse(text, &cfg, &e), CHSMC_OK);
    assert_string_equal(cfg.arm_url, "https://127.0.0.1:8443");
    assert_string_equal(cfg.ca_cert, "/tmp/ca.pem");
    free(text);
    assert_int_equal(chsmc_cfg_parse("{\"servers\":[]}", &cfg, &e), CHSMC_EUSAGE);
    assert_int_equal(chsmc_cfg_parse("not json", &cfg, &e), CHSMC_EUSAGE);
    assert_int_equal(chsmc_cfg_parse("{\"servers\":[{\"hostname\":\"h\"}],\"emulator\":"
                                     "{\"armUrl\":\"ftp://x\"}}",
                                     &cfg, &e),
                     CHSMC_EUSAGE);
    assert_int_equal(chsmc_cfg_load("/nonexistent/azcloudhsm_resource.cfg", &cfg, &e), CHSMC_EIO);
}

static void test_fqdn_mapping(void **state)
{
    (void)state;
    char out[256], label[64];
    assert_int_equal(chsmc_hsm_base_url("https://127.0.0.1:8443",
                                        "hsm1.contoso-abcdef0123456789.cloudhsm.localhost", out,
                                        sizeof out),
                     CHSMC_OK);
    assert_string_equal(out, "https://127.0.0.1:8443/hsm/contoso-abcdef0123456789");
    /* any node, any case, a trailing dot and a trailing slash on the ARM URL */
    assert_int_equal(chsmc_hsm_base_url("https://localhost:1/",
                                        "HSM3.Contoso-ABCDEF0123456789.CloudHSM.localhost.", out,
                                        sizeof out),
                     CHSMC_OK);
    assert_string_equal(out, "https://localhost:1/hsm/contoso-abcdef0123456789");
    assert_int_equal(chsmc_hsm_label_from_fqdn("hsm2.a-b.cloudhsm.localhost", label, sizeof label),
                     CHSMC_OK);
    assert_string_equal(label, "a-b");
    static const char *const bad[] = {
        "hsm1.contoso.privatelink.cloudhsm.azure.net", /* the real service's names */
        "hsmx.contoso.cloudhsm.localhost",
        "node1.contoso.cloudhsm.localhost",
        "hsm1.cloudhsm.localhost",
        "hsm1..cloudhsm.localhost",
        "hsm1.a.b.cloudhsm.localhost", /* the label is one DNS label */
        "hsm1.a/../x.cloudhsm.localhost",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(chsmc_hsm_base_url("https://h", bad[i], out, sizeof out), CHSMC_EUSAGE);
    char small[16];
    assert_int_equal(
        chsmc_hsm_base_url("https://127.0.0.1:8443", "hsm1.a.cloudhsm.localhost", small, 16),
        CHSMC_EUSAGE);
}

/* ---- error envelopes ---- */

static void test_error_parse(void **state)
{
    (void)state;
    chsmc_error e;
    assert_int_equal(chsmc_error_parse("{\"error\":{\"code\":\"ResourceGroupNotFound\",\"message\":"
                                       "\"Resource group 'x' could not be found.\",\"target\":"
                                       "\"x\"}}",
                                       404, &e),
                     0);
    assert_string_equal(e.code, "ResourceGroupNotFound");
    assert_string_equal(e.message, "Resource group 'x' could not be found.");
    assert_string_equal(e.target, "x");
    assert_int_equal(e.http_status, 404);
    assert_int_equal(chsmc_error_parse("{\"error\":{\"code\":\"RET_USER_LOGIN_FAILURE\","
                                       "\"message\":\"m\",\"hsmReturn\":\"0x000000a3\"}}",
                                       401, &e),
                     0);
    assert_string_equal(e.hsm_return, "0x000000a3");
    assert_int_equal(chsmc_error_parse("{\"error\":\"invalid_request\",\"error_description\":"
                                       "\"no client_id\"}",
                                       400, &e),
                     0);
    assert_string_equal(e.code, "invalid_request");
    assert_string_equal(e.message, "no client_id");
    assert_int_equal(chsmc_error_parse("{\"code\":\"Conflict\",\"message\":\"busy\"}", 409, &e), 0);
    assert_string_equal(e.code, "Conflict");
    assert_int_equal(chsmc_error_parse("<html>oops</html>", 502, &e), 1);
    assert_string_equal(e.code, "HttpError");
    assert_non_null(strstr(e.message, "502"));
    assert_int_equal(chsmc_error_parse("", 500, &e), 1);
    assert_int_equal(chsmc_error_parse("{\"error\":{\"code\":\"X\"}}", 400, &e), 0);
    assert_string_equal(e.message, "HTTP 400");
    chsmc_error_set(&e, 3, "C", "%s", "world");
    chsmc_error_prefix(&e, "hello ");
    assert_string_equal(e.message, "hello world");
}

/* ---- LRO ---- */

static chsmc_response resp(long status, const char *headers, const char *body)
{
    chsmc_response r;
    r.status = status;
    r.headers = (char *)headers;
    r.body = (char *)body;
    r.body_len = strlen(body);
    return r;
}

static void test_lro_select(void **state)
{
    (void)state;
    char url[256];
    chsmc_response r = resp(201,
                            "HTTP/1.1 201 Created\r\nLocation: https://h/loc\r\n"
                            "Azure-AsyncOperation: https://h/async\r\n\r\n",
                            "{}");
    assert_int_equal(chsmc_lro_select("PUT", &r, "https://h/res", url, sizeof url),
                     CHSMC_LRO_ASYNC_OPERATION);
    assert_string_equal(url, "https://h/async");
    r = resp(202, "HTTP/1.1 202 Accepted\r\nOperation-Location: https://h/op\r\n\r\n", "");
    assert_int_equal(chsmc_lro_select("POST", &r, "https://h/res", url, sizeof url),
                     CHSMC_LRO_ASYNC_OPERATION);
    assert_string_equal(url, "https://h/op");
    r = resp(202, "HTTP/1.1 202 Accepted\r\nlocation:   https://h/status/1  \r\nRetry-After: 3\r\n",
             "");
    assert_int_equal(chsmc_lro_select("POST", &r, "https://h/res", url, sizeof url),
                     CHSMC_LRO_LOCATION);
    assert_string_equal(url, "https://h/status/1");
    assert_int_equal(chsmc_lro_retry_after_ms(&r, 1000), 3000);
    r = resp(200, "HTTP/1.1 200 OK\r\n\r\n",
             "{\"properties\":{\"provisioningState\":\"Provisioning\"}}");
    assert_int_equal(chsmc_lro_select("PUT", &r, "https://h/res?api-version=1", url, sizeof url),
                     CHSMC_LRO_BODY);
    assert_string_equal(url, "https://h/res?api-version=1");
    assert_int_equal(chsmc_lro_retry_after_ms(&r, 1500), 1500);
    r = resp(200, "HTTP/1.1 200 OK\r\n\r\n",
             "{\"properties\":{\"provisioningState\":\"Succeeded\"}}");
    assert_int_equal(chsmc_lro_select("PUT", &r, "https://h/res", url, sizeof url), CHSMC_LRO_DONE);
    r = resp(200, "HTTP/1.1 200 OK\r\n\r\n",
             "{\"properties\":{\"provisioningState\":\"Provisioning\"}}");
    assert_int_equal(chsmc_lro_select("POST", &r, "https://h/res", url, sizeof url),
                     CHSMC_LRO_DONE);
    r = resp(409, "HTTP/1.1 409 Conflict\r\nLocation: https://h/x\r\n\r\n", "{}");
    assert_int_equal(chsmc_lro_select("PUT", &r, "https://h/res", url, sizeof url), CHSMC_LRO_DONE);
    r = resp(202, "HTTP/1.1 202 Accepted\r\nRetry-After: 0\r\n\r\n", "");
    assert_int_equal(chsmc_lro_retry_after_ms(&r, 700), 700);
}

static void test_lro_classify(void **state)
{
    (void)state;
    char label[64];
    chsmc_error e;
    chsmc_response r = resp(200, "", "{\"status\":\"InProgress\"}");
    assert_int_equal(chsmc_lro_classify(CHSMC_LRO_ASYNC_OPERATION, &r, label, sizeof label, &e),
                     CHSMC_LRO_RUNNING);
    assert_string_equal(label, "InProgress");
    r = resp(200, "", "{\"status\":\"Failed\",\"error\":{\"code\":\"Boom\",\"message\":\"m\"}}");
    assert_int_equal(chsmc_lro_classify(CHSMC_LRO_ASYNC_OPERATION, &r, label, sizeof label, &e),
                     CHSMC_LRO_FAILED);
    assert_string_equal(e.code, "Boom");
    r = resp(200, "", "{\"status\":\"Cancelled\"}");
    assert_int_equal(chsmc_lro_classify(CHSMC_LRO_ASYNC_OPERATION, &r, label, sizeof label, &e),
                     CHSMC_LRO_CANCELED);
    r = resp(202, "", "");
    assert_int_equal(chsmc_lro_classify(CHSMC_LRO_ASYNC_OPERATION, &r, label, sizeof label, &e),
                     CHSMC_LRO_RUNNING);
    r = resp(202, "", "");
    assert_int_equal(chsmc_lro_classify(CHSMC_LRO_LOCATION, &r, label, sizeof label, &e),
                     CHSMC_LRO_RUNNING);
    r = resp(204, "", "");
    assert_int_equal(chsmc_lro_classify(CHSMC_LRO_LOCATION, &r, label, sizeof label, &e),
                     CHSMC_LRO_SUCCEEDED);
    /* Cloud HSM backup status: 200 with the status under properties */
    r = resp(200, "",
             "{\"properties\":{\"status\":\"Failed\",\"error\":{\"code\":"
             "\"AuthorizationPermissionMismatch\",\"message\":\"no role\"}}}");
    assert_int_equal(chsmc_lro_classify(CHSMC_LRO_LOCATION, &r, label, sizeof label, &e),
                     CHSMC_LRO_FAILED);
    assert_string_equal(e.code, "AuthorizationPermissionMismatch");
    assert_non_null(strstr(e.message, "no role"));
    r = resp(200, "", "{\"properties\":{\"status\":\"Succeeded\",\"backupId\":\"b\"}}");
    assert_int_equal(chsmc_lro_classify(CHSMC_LRO_LOCATION, &r, label, sizeof label, &e),
                     CHSMC_LRO_SUCCEEDED);
    r = resp(200, "", "{\"properties\":{\"provisioningState\":\"Updating\"}}");
    assert_int_equal(chsmc_lro_classify(CHSMC_LRO_BODY, &r, label, sizeof label, &e),
                     CHSMC_LRO_RUNNING);
    assert_string_equal(label, "Updating");
    r = resp(200, "",
             "{\"properties\":{\"provisioningState\":\"Failed\",\"statusMessage\":\"x\"}}");
    assert_int_equal(chsmc_lro_classify(CHSMC_LRO_BODY, &r, label, sizeof label, &e),
                     CHSMC_LRO_FAILED);
    assert_non_null(strstr(e.message, "x"));
}

/* ---- endpoint discovery ---- */

static char tmpdir[256];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void clear_env(void)
{
    unsetenv("CHSM_ENDPOINT");
    unsetenv("CHSM_CA_CERT");
    unsetenv("CHSM_SUBSCRIPTION");
    unsetenv("CHSM_DATA_DIR");
    unsetenv("CHSM_BLOB_ENDPOINT");
}

static void test_endpoint_resolve(void **state)
{
    (void)state;
    clear_env();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/chsmc-unit-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    char path[512];
    snprintf(path, sizeof path, "%s/emulator.json", tmpdir);
    write_text(path,
               "{\"armUrl\":\"https://127.0.0.1:9443\",\"blobUrl\":\"https://127.0.0.1:9444\","
               "\"caCert\":\"/data/ca.pem\"}");
    chsmc_endpoint ep;
    chsmc_error e;
    chsmc_endpoint_opts f = {0};
    f.data_dir = tmpdir;
    assert_int_equal(chsmc_endpoint_resolve(&f, &ep, &e), CHSMC_OK);
    assert_string_equal(ep.arm_url, "https://127.0.0.1:9443");
    assert_string_equal(ep.blob_url, "https://127.0.0.1:9444");
    assert_string_equal(ep.ca_cert, "/data/ca.pem");
    assert_string_equal(ep.subscription, CHSMC_DEFAULT_SUBSCRIPTION);
    assert_string_equal(ep.source, "emulator.json");

    /* the environment beats emulator.json; a different URL does not borrow its CA */
    setenv("CHSM_ENDPOINT", "https://other:1/", 1);
    setenv("CHSM_SUBSCRIPTION", "11111111-1111-1111-1111-111111111111", 1);
    assert_int_equal(chsmc_endpoint_resolve(&f, &ep, &e), CHSMC_OK);
    assert_string_equal(ep.arm_url, "https://other:1");
    assert_string_equal(ep.ca_cert, "");
    assert_string_equal(ep.source, "env");
    assert_string_equal(ep.subscription, "11111111-1111-1111-1111-111111111111");
    /* flags beat the environment */
    f.endpoint = "http://flag:2";
    f.ca_cert = "/flag.pem";
    f.subscription = "22222222-2222-2222-2222-222222222222";
    assert_int_equal(chsmc_endpoint_resolve(&f, &ep, &e), CHSMC_OK);
    assert_string_equal(ep.arm_url, "http://flag:2");
    assert_string_equal(ep.ca_cert, "/flag.pem");
    assert_string_equal(ep.subscription, "22222222-2222-2222-2222-222222222222");
    assert_string_equal(ep.source, "flag");
    /* a cfg file's emulator object comes after the environment */
    clear_env();
    chsmc_endpoint_opts g = {0};
    g.data_dir = tmpdir;
    g.cfg_arm_url = "https://cfg:3";
    g.cfg_ca_cert = "/cfg.pem";
    assert_int_equal(chsmc_endpoint_resolve(&g, &ep, &e), CHSMC_OK);
    assert_string_equal(ep.arm_url, "https://cfg:3");
    assert_string_equal(ep.ca_cert, "/cfg.pem");
    setenv("CHSM_ENDPOINT", "https://env:4", 1);
    assert_int_equal(chsmc_endpoint_resolve(&g, &ep, &e), CHSMC_OK);
    assert_string_equal(ep.arm_url, "https://env:4");
    assert_string_equal(ep.ca_cert, "");
    /* the same URL as emulator.json gets its CA */
    setenv("CHSM_ENDPOINT", "https://127.0.0.1:9443/", 1);
    assert_int_equal(chsmc_endpoint_resolve(&g, &ep, &e), CHSMC_OK);
    assert_string_equal(ep.ca_cert, "/data/ca.pem");
    setenv("CHSM_ENDPOINT", "not-a-url", 1);
    assert_int_equal(chsmc_endpoint_resolve(&g, &ep, &e), CHSMC_EUSAGE);
    clear_env();
    /* nothing anywhere */
    chsmc_endpoint_opts none = {0};
    none.data_dir = "/nonexistent/chsm-data";
    assert_int_equal(chsmc_endpoint_resolve(&none, &ep, &e), CHSMC_ECONNECT);
    assert_string_equal(e.code, "EmulatorNotFound");
    unlink(path);
    rmdir(tmpdir);
}

static void test_misc(void **state)
{
    (void)state;
    const char *data = "\x00\x01\xfe\xffhello";
    char *b = chsmc_base64_encode(data, 9);
    assert_string_equal(b, "AAH+/2hlbGxv");
    size_t n;
    unsigned char *d = chsmc_base64_decode(b, &n);
    assert_int_equal(n, 9);
    assert_memory_equal(d, data, 9);
    free(b);
    free(d);
    assert_null(chsmc_base64_decode("ab$c", &n));
    assert_string_equal(chsmc_role_guid("storage blob data contributor"),
                        "ba92f5b4-2d11-453d-a403-e96b0029c9fe");
    assert_string_equal(chsmc_role_name("/subscriptions/s/providers/Microsoft.Authorization/"
                                        "roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"),
                        "Storage Blob Data Contributor");
    assert_null(chsmc_role_guid("Storage Blob Data Janitor"));
    char uuid[37];
    chsmc_uuid(uuid);
    assert_true(chsmc_is_guid(uuid));
    assert_int_equal(uuid[14], '4');
    char path[256];
    assert_int_equal(chsmc_path_resource("s", "rg", CHSMC_TYPE_CLUSTER, "c1", path, sizeof path),
                     0);
    assert_string_equal(path, "/subscriptions/s/resourceGroups/rg/providers/"
                              "Microsoft.HardwareSecurityModules/cloudHsmClusters/c1");
    assert_int_equal(chsmc_path_resource("s", "rg", CHSMC_TYPE_CLUSTER, "c1", path, 10), -1);
}

/* ---- against a real emulator ---- */

static pid_t emu_pid;
static char emu_dir[256];
static chsmc_endpoint emu_ep;

static int start_emulator(void **state)
{
    (void)state;
    const char *bin = getenv("CHSM_EMULATOR");
    if (!bin || !*bin)
        return 0;
    clear_env();
    snprintf(emu_dir, sizeof emu_dir, "/tmp/chsmc-emu-XXXXXX");
    if (!mkdtemp(emu_dir))
        return -1;
    char log[300];
    snprintf(log, sizeof log, "%s/emulator.log", emu_dir);
    emu_pid = fork();
    if (emu_pid < 0)
        return -1;
    if (emu_pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        (void)f;
        dup2(STDOUT_FILENO, STDERR_FILENO);
        execl(bin, bin, "--listen", "127.0.0.1:0", "--blob-listen", "127.0.0.1:0", "--data-dir",
              emu_dir, "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    char path[300];
    snprintf(path, sizeof path, "%s/emulator.json", emu_dir);
    for (int i = 0; i < 400; i++) {
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > 0)
            break;
        chsmc_sleep_ms(25);
    }
    chsmc_endpoint_opts f = {0};
    f.data_dir = emu_dir;
    chsmc_error e;
    return chsmc_endpoint_resolve(&f, &emu_ep, &e) == CHSMC_OK ? 0 : -1;
}

static int stop_emulator(void **state)
{
    (void)state;
    if (emu_pid > 0) {
        kill(emu_pid, SIGTERM);
        waitpid(emu_pid, NULL, 0);
        emu_pid = 0;
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", emu_dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

#define NEED_EMULATOR()                                                                            \
    do {                                                                                           \
        if (emu_pid <= 0)                                                                          \
            skip();                                                                                \
    } while (0)

static void test_live_arm(void **state)
{
    (void)state;
    NEED_EMULATOR();
    chsmc_client *c;
    chsmc_error e;
    assert_int_equal(chsmc_client_new(&emu_ep, &c, &e), CHSMC_OK);
    const char *t1, *t2;
    assert_int_equal(chsmc_client_token(c, &t1, &e), CHSMC_OK);
    assert_non_null(strstr(t1, "eyJ"));
    assert_int_equal(chsmc_client_token(c, &t2, &e), CHSMC_OK);
    assert_ptr_equal(t1, t2); /* cached */

    char path[256];
    chsmc_path_group(emu_ep.subscription, "unit-rg", path, sizeof path);
    cJSON *body = cJSON_Parse("{\"location\":\"westeurope\"}");
    cJSON *out = NULL;
    assert_int_equal(chsmc_arm_call(c, "PUT", path, CHSMC_API_RESOURCES, body, NULL, &out, &e),
                     CHSMC_OK);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(out, "name")), "unit-rg");
    cJSON_Delete(out);
    cJSON_Delete(body);

    char missing[256];
    chsmc_path_group(emu_ep.subscription, "unit-missing", missing, sizeof missing);
    assert_int_equal(chsmc_arm_call(c, "GET", missing, CHSMC_API_RESOURCES, NULL, NULL, NULL, &e),
                     CHSMC_EHTTP);
    assert_string_equal(e.code, "ResourceGroupNotFound");
    assert_int_equal(e.http_status, 404);
    /* a bad api-version is the server's error, reported as such */
    assert_int_equal(chsmc_arm_call(c, "GET", path, "1999-01-01", NULL, NULL, NULL, &e),
                     CHSMC_EHTTP);
    assert_int_equal(e.http_status, 400);

    /* delete: 202 + Location, followed to the end */
    chsmc_response r;
    assert_int_equal(chsmc_arm_request(c, "DELETE", path, CHSMC_API_RESOURCES, NULL, &r, &e),
                     CHSMC_OK);
    assert_int_equal(r.status, 202);
    char url[512];
    assert_int_equal(chsmc_lro_select("DELETE", &r, path, url, sizeof url), CHSMC_LRO_LOCATION);
    chsmc_wait_opts w = {0};
    w.timeout_s = 30;
    cJSON *result = NULL;
    assert_int_equal(chsmc_lro_wait(c, "DELETE", path, CHSMC_API_RESOURCES, &r, &w, &result, &e),
                     CHSMC_OK);
    assert_null(result);
    assert_int_equal(chsmc_lro_follow(c, url, &w, &result, &e), CHSMC_OK);
    cJSON_Delete(result);
    chsmc_response_clear(&r);
    assert_int_equal(chsmc_arm_call(c, "GET", path, CHSMC_API_RESOURCES, NULL, NULL, NULL, &e),
                     CHSMC_EHTTP);
    chsmc_client_free(c);

    /* unreachable: nothing listens on port 1 */
    chsmc_endpoint dead = emu_ep;
    chsmc_copy(dead.arm_url, sizeof dead.arm_url, "https://127.0.0.1:1");
    assert_int_equal(chsmc_client_new(&dead, &c, &e), CHSMC_OK);
    assert_int_equal(chsmc_arm_call(c, "GET", path, CHSMC_API_RESOURCES, NULL, NULL, NULL, &e),
                     CHSMC_ECONNECT);
    chsmc_client_free(c);
    /* the wrong CA: TLS verification fails */
    chsmc_endpoint wrongca = emu_ep;
    chsmc_copy(wrongca.ca_cert, sizeof wrongca.ca_cert, "/etc/ssl/certs/ca-certificates.crt");
    assert_int_equal(chsmc_client_new(&wrongca, &c, &e), CHSMC_OK);
    assert_int_equal(chsmc_arm_call(c, "GET", path, CHSMC_API_RESOURCES, NULL, NULL, NULL, &e),
                     CHSMC_ECONNECT);
    chsmc_client_free(c);
}

static void test_live_hsm(void **state)
{
    (void)state;
    NEED_EMULATOR();
    chsmc_client *c;
    chsmc_error e;
    assert_int_equal(chsmc_client_new(&emu_ep, &c, &e), CHSMC_OK);
    char rg[256], cl[512];
    chsmc_path_group(emu_ep.subscription, "unit-hsm", rg, sizeof rg);
    cJSON *body = cJSON_Parse("{\"location\":\"uksouth\"}");
    assert_int_equal(chsmc_arm_call(c, "PUT", rg, CHSMC_API_RESOURCES, body, NULL, NULL, &e),
                     CHSMC_OK);
    cJSON_Delete(body);
    chsmc_path_resource(emu_ep.subscription, "unit-hsm", CHSMC_TYPE_CLUSTER, "unit-c1", cl,
                        sizeof cl);
    body = cJSON_Parse("{\"location\":\"uksouth\",\"sku\":{\"family\":\"B\",\"name\":"
                       "\"Standard_B1\"}}");
    chsmc_response r;
    assert_int_equal(chsmc_arm_request(c, "PUT", cl, CHSMC_API_CLOUDHSM, body, &r, &e), CHSMC_OK);
    cJSON_Delete(body);
    if (r.status == 404) { /* the Cloud HSM provider is not served by this build */
        chsmc_error_parse(r.body, r.status, &e);
        chsmc_response_clear(&r);
        chsmc_client_free(c);
        assert_string_equal(e.code, "InvalidResourceType");
        skip();
    }
    chsmc_wait_opts w = {0};
    w.timeout_s = 60;
    cJSON *cluster = NULL;
    assert_int_equal(chsmc_lro_wait(c, "PUT", cl, CHSMC_API_CLOUDHSM, &r, &w, &cluster, &e),
                     CHSMC_OK);
    chsmc_response_clear(&r);
    const cJSON *hsms = cJSON_GetObjectItem(cJSON_GetObjectItem(cluster, "properties"), "hsms");
    const char *fqdn =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(hsms, 0), "fqdn"));
    assert_non_null(fqdn);
    chsmc_hsm *h;
    assert_int_equal(chsmc_hsm_open(c, fqdn, &h, &e), CHSMC_OK);
    cJSON_Delete(cluster);
    cJSON *info = NULL;
    if (chsmc_hsm_cluster(h, &info, &e) == CHSMC_EHTTP && e.http_status == 404 &&
        strcmp(e.code, "NotFound") == 0) { /* data plane not served by this build */
        chsmc_hsm_free(h);
        chsmc_client_free(c);
        skip();
    }
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(info, "activationState")),
                        "NotActivated");
    cJSON_Delete(info);
    assert_int_equal(chsmc_hsm_login(h, "PRECO", "admin", "wrong-password", &e), CHSMC_EHTTP);
    assert_string_equal(e.code, "RET_USER_LOGIN_FAILURE");
    assert_string_equal(e.hsm_return, "0x000000a3");
    assert_int_equal(chsmc_hsm_login(h, "PRECO", "admin", "tenantadmin", &e), CHSMC_OK);
    assert_int_equal(chsmc_hsm_activate(h, "officer123", &e), CHSMC_OK);
    const char *type;
    assert_true(chsmc_hsm_logged_in(h, &type, NULL));
    assert_string_equal(type, "CO");
    assert_int_equal(chsmc_hsm_create_user(h, "CU", "unitcu", "user1234", NULL, &e), CHSMC_OK);
    cJSON *users = NULL;
    assert_int_equal(chsmc_hsm_list_users(h, &users, &e), CHSMC_OK);
    assert_int_equal(cJSON_GetArraySize(users), 2);
    cJSON_Delete(users);
    assert_int_equal(chsmc_hsm_logout(h, &e), CHSMC_OK);
    assert_false(chsmc_hsm_logged_in(h, NULL, NULL));

    assert_int_equal(chsmc_hsm_login(h, "CU", "unitcu", "user1234", &e), CHSMC_OK);
    cJSON *spec = cJSON_Parse("{\"type\":\"EC\",\"curve\":\"P-256\",\"label\":\"l\","
                              "\"keyId\":\"unit-ec\"}");
    cJSON *keys = NULL;
    assert_int_equal(chsmc_hsm_generate_key(h, spec, &keys, &e), CHSMC_OK);
    cJSON_Delete(spec);
    assert_int_equal(cJSON_GetArraySize(keys), 2);
    long long pub = -1, priv = -1;
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        const char *cls = cJSON_GetStringValue(cJSON_GetObjectItem(k, "class"));
        long long hd = (long long)cJSON_GetObjectItem(k, "handle")->valuedouble;
        if (strcmp(cls, "public") == 0)
            pub = hd;
        else
            priv = hd;
    }
    cJSON_Delete(keys);
    unsigned char *sig;
    size_t siglen;
    assert_int_equal(chsmc_hsm_sign(h, priv, "ECDSA-SHA256", "msg", 3, &sig, &siglen, &e),
                     CHSMC_OK);
    int valid = 0;
    assert_int_equal(chsmc_hsm_verify(h, pub, "ECDSA-SHA256", "msg", 3, sig, siglen, &valid, &e),
                     CHSMC_OK);
    assert_true(valid);
    assert_int_equal(chsmc_hsm_verify(h, pub, "ECDSA-SHA256", "msh", 3, sig, siglen, &valid, &e),
                     CHSMC_OK);
    assert_false(valid);
    free(sig);
    assert_int_equal(chsmc_hsm_find_keys(h, NULL, "private", NULL, "unit-ec", &keys, &e), CHSMC_OK);
    assert_int_equal(cJSON_GetArraySize(keys), 1);
    cJSON_Delete(keys);
    assert_int_equal(chsmc_hsm_delete_key(h, 999999, &e), CHSMC_EHTTP);
    assert_string_equal(e.hsm_return, "0x000000a8");
    assert_int_equal(chsmc_hsm_logout(h, &e), CHSMC_OK);
    chsmc_hsm_free(h);
    chsmc_client_free(c);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_opts_parse),   cmocka_unit_test(test_opts_errors),
        cmocka_unit_test(test_split_line),   cmocka_unit_test(test_dash_args),
        cmocka_unit_test(test_cfg_parse),    cmocka_unit_test(test_fqdn_mapping),
        cmocka_unit_test(test_error_parse),  cmocka_unit_test(test_lro_select),
        cmocka_unit_test(test_lro_classify), cmocka_unit_test(test_endpoint_resolve),
        cmocka_unit_test(test_misc),
    };
    const struct CMUnitTest live[] = {
        cmocka_unit_test(test_live_arm),
        cmocka_unit_test(test_live_hsm),
    };
    int failed = cmocka_run_group_tests_name("client", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("client-live", live, start_emulator, stop_emulator);
    return failed;
}
