/* errors.c - the Blob service's response conventions: XML error bodies with
 * x-ms-error-code, and the headers every answer carries. */
#include "blob/internal.h"

#include "blob/xml.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void chsm_blob_common_headers(chsm_blob_ctx *x)
{
    chsm_response_header(x->res, "x-ms-version",
                         x->version ? x->version : CHSM_BLOB_DEFAULT_VERSION, 1);
    chsm_response_header(x->res, "Server", "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0", 1);
}

void chsm_blob_xml_answer(chsm_blob_ctx *x, int status, chsm_buf *b)
{
    chsm_blob_common_headers(x);
    if (b->failed) {
        chsm_buf_free(b);
        chsm_blob_error(x, 500, "InternalError", "The server ran out of memory.", NULL);
        return;
    }
    size_t len = b->len;
    char *body = chsm_buf_steal(b);
    if (x->head) {
        free(body);
        chsm_response_set_body(x->res, status, "application/xml", NULL, 0);
        return;
    }
    chsm_response_set_body(x->res, status, "application/xml", body, len);
}

void chsm_blob_empty_answer(chsm_blob_ctx *x, int status)
{
    chsm_blob_common_headers(x);
    chsm_response_set_body(x->res, status, NULL, NULL, 0);
    chsm_response_header(x->res, "Content-Length", "0", 1);
}

void chsm_blob_error(chsm_blob_ctx *x, int status, const char *code, const char *message,
                     const char *extra_xml)
{
    char when[40];
    chsm_format_time(chsm_now_ms(), when, sizeof when);
    chsm_buf b = {0};
    chsm_xml_begin(&b);
    chsm_xml_open(&b, "Error");
    chsm_xml_elem(&b, "Code", code);
    chsm_xml_open(&b, "Message");
    chsm_xml_text(&b, message);
    chsm_buf_printf(&b, "\nRequestId:%s\nTime:%s", x->req->request_id, when);
    chsm_xml_close(&b, "Message");
    if (extra_xml)
        chsm_buf_puts(&b, extra_xml);
    chsm_xml_close(&b, "Error");
    chsm_response_header(x->res, "x-ms-error-code", code, 1);
    chsm_blob_common_headers(x);
    size_t len = b.len;
    char *body = chsm_buf_steal(&b);
    if (x->head || !body) {
        free(body);
        chsm_response_set_body(x->res, status, "application/xml", NULL, 0);
        return;
    }
    chsm_response_set_body(x->res, status, "application/xml", body, len);
}

void chsm_blob_error_header(chsm_blob_ctx *x, const char *code, const char *header,
                            const char *value)
{
    chsm_buf b = {0};
    chsm_xml_elem(&b, "HeaderName", header);
    chsm_xml_elem(&b, "HeaderValue", value ? value : "");
    char *extra = chsm_buf_steal(&b);
    const char *msg = strcmp(code, "MissingRequiredHeader") == 0
                          ? "An HTTP header that's mandatory for this request is not specified."
                          : "The value for one of the HTTP headers is not in the correct format.";
    chsm_blob_error(x, 400, code, msg, extra);
    free(extra);
}

void chsm_blob_error_query(chsm_blob_ctx *x, const char *code, const char *param, const char *value)
{
    chsm_buf b = {0};
    chsm_xml_elem(&b, "QueryParameterName", param);
    chsm_xml_elem(&b, "QueryParameterValue", value ? value : "");
    char *extra = chsm_buf_steal(&b);
    const char *msg =
        strcmp(code, "OutOfRangeQueryParameterValue") == 0
            ? "One of the query parameters specified in the request URI is outside the "
              "permissible range."
            : "Value for one of the query parameters specified in the request URI is invalid.";
    chsm_blob_error(x, 400, code, msg, extra);
    free(extra);
}

void chsm_blob_store_error(chsm_blob_ctx *x, int rc)
{
    char msg[160];
    snprintf(msg, sizeof msg,
             "The server encountered an internal error (%s). Please retry the "
             "request.",
             chsm_status_str(rc));
    chsm_blob_error(x, 500, "InternalError", msg, NULL);
}
