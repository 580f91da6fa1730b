/* The checks on an HTTP response: status 200, a Content-Length, exactly that many body bytes, and with
 * --expect-sha256 the body's SHA-256. */
#include "tlsload.h"

#include <string.h>
#include <strings.h>
#include <stdlib.h>

int bulk_hashed;

/* Before a request: an empty response. The body is hashed with --expect-sha256, in bulk mode the first one only. */
void reset_parser(struct conn *c) {
    c->head_len = 0;
    c->head_done = 0;
    c->content_length = -1;
    c->body = 0;
    c->hash_body = expect_sha256 != NULL && !(mode == MODE_BULK && bulk_hashed);
    if (c->hash_body) EVP_DigestInit_ex(c->md, EVP_sha256(), NULL);
}

/* Returns 1 when the response is complete, 0 when more is needed, -1 on a protocol error (already recorded). */
int parse(struct conn *c, const unsigned char *data, size_t n) {
    if (!c->head_done) {
        size_t room = sizeof c->head - 1 - c->head_len;
        size_t take = n < room ? n : room;
        memcpy(c->head + c->head_len, data, take);
        size_t old = c->head_len;
        c->head_len += take;
        c->head[c->head_len] = 0;
        char *end = strstr(c->head, "\r\n\r\n");
        if (!end) {
            if (c->head_len == sizeof c->head - 1) { fail(c, E_HTTP, "response header too long"); return -1; }
            return 0;
        }
        size_t head_size = (size_t)(end - c->head) + 4;
        if (strncmp(c->head, "HTTP/1.1 200 ", 13) != 0 && strncmp(c->head, "HTTP/1.0 200 ", 13) != 0) {
            char detail[64];
            snprintf(detail, sizeof detail, "status line '%.30s'", c->head);
            fail(c, E_HTTP, detail);
            return -1;
        }
        for (char *p = c->head; p < end; p++) {
            if ((p == c->head || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
                c->content_length = strtoll(p + 15, NULL, 10);
                break;
            }
        }
        if (c->content_length < 0) { fail(c, E_HTTP, "no Content-Length"); return -1; }
        c->head_done = 1;
        /* the body bytes that came with the header */
        size_t consumed = head_size - old;
        data += consumed;
        n -= consumed;
    }
    if ((long long)n > c->content_length - c->body) { fail(c, E_BODY, "more bytes than Content-Length"); return -1; }
    if (c->hash_body) EVP_DigestUpdate(c->md, data, n);
    c->body += n;
    if (measuring && mode == MODE_BULK) bytes_in_window += n;
    if (c->body < c->content_length) return 0;
    if (c->hash_body) {
        unsigned char digest[32];
        unsigned int len = 0;
        EVP_DigestFinal_ex(c->md, digest, &len);
        if (memcmp(digest, expected_digest, 32) != 0) { fail(c, E_BODY, "body SHA-256 differs"); return -1; }
        if (mode == MODE_BULK) bulk_hashed = 1; /* bulk: only the first (warm-up) download is hashed */
    }
    return 1;
}
