/* tlsload's options, and what is set up from them before a mode runs: the target address, the requests, the
 * expected digest and group, the client's SSL_CTX and the epoll descriptor. */
#include "tlsload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>

enum mode mode = MODE_CONN;
static const char *host = "127.0.0.1";
static int port = 0;
int tls_version = 13;
static const char *suites = "TLS_AES_128_GCM_SHA256";
static const char *ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
static const char *groups = "X25519";
const char *expect_cipher = NULL;
static const char *expect_group = NULL;
int resume = 0;
int expect_refusal = 0; /* --expect-refusal: count the server's refusals of the handshake */
int status_request = 0;
static int no_tickets = 0; /* --no-tickets: ask for no session tickets (TLS 1.2 then resumes by session ID) */
static const char *path = "/100";
const char *server_name = "localhost";
const char *expect_sha256 = NULL;
int concurrency = 64;
double duration = 10, warmup = 2;
int hold_count = 0;
long long count_limit = 0;
double conn_timeout = 10;
double probe_timeout = 10;
pid_t pids[64];
int npids = 0;
int verbose = 0;

SSL_CTX *ctx;
int ep;
struct sockaddr_in target;
char request_close[512], request_keepalive[512];
size_t request_close_len, request_keepalive_len;
unsigned char expected_digest[32];
int expected_nid = NID_undef;

static void usage(void) {
    fprintf(stderr,
            "usage: tlsload --port P [--host 127.0.0.1] [--mode conn|bulk|hold|probe] [--tls 13|12]\n"
            "  [--suites S] [--ciphers C] [--groups G] [--expect-cipher NAME] [--expect-group NAME] [--resume]\n"
            "  [--no-tickets] [--path /100] [--sni NAME] [--expect-sha256 HEX] [--concurrency N] [--duration S]\n"
            "  [--warmup S] [--count N] [--hold N] [--conn-timeout S] [--probe-timeout S] [--pids P1,P2,...]\n"
            "  [--expect-refusal] [--status] [--verbose]\n");
    exit(2);
}

static void parse_options(int argc, char **argv) {
    static struct option options[] = {
        {"mode", 1, 0, 'm'}, {"host", 1, 0, 'H'}, {"port", 1, 0, 'p'}, {"tls", 1, 0, 'T'},
        {"suites", 1, 0, 's'}, {"ciphers", 1, 0, 'c'}, {"groups", 1, 0, 'g'}, {"expect-cipher", 1, 0, 'C'},
        {"expect-group", 1, 0, 'G'}, {"resume", 0, 0, 'r'}, {"path", 1, 0, 'P'}, {"sni", 1, 0, 'S'},
        {"expect-sha256", 1, 0, 'X'}, {"concurrency", 1, 0, 'n'}, {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'},
        {"hold", 1, 0, 'N'}, {"conn-timeout", 1, 0, 't'}, {"probe-timeout", 1, 0, 'o'}, {"pids", 1, 0, 'i'},
        {"count", 1, 0, 'K'}, {"verbose", 0, 0, 'v'}, {"no-tickets", 0, 0, 'k'},
        {"expect-refusal", 0, 0, 'R'}, {"status", 0, 0, 'O'}, {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'm':
            if (!strcmp(optarg, "conn")) mode = MODE_CONN;
            else if (!strcmp(optarg, "bulk")) mode = MODE_BULK;
            else if (!strcmp(optarg, "hold")) mode = MODE_HOLD;
            else if (!strcmp(optarg, "probe")) mode = MODE_PROBE;
            else usage();
            break;
        case 'H': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'T': tls_version = atoi(optarg); break;
        case 's': suites = optarg; break;
        case 'c': ciphers = optarg; break;
        case 'g': groups = optarg; break;
        case 'C': expect_cipher = optarg; break;
        case 'G': expect_group = optarg; break;
        case 'r': resume = 1; break;
        case 'k': no_tickets = 1; break;
        case 'R': expect_refusal = 1; break;
        case 'O': status_request = 1; break;
        case 'P': path = optarg; break;
        case 'S': server_name = *optarg ? optarg : NULL; break;
        case 'X': expect_sha256 = optarg; break;
        case 'n': concurrency = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'N': hold_count = atoi(optarg); break;
        case 'K': count_limit = atoll(optarg); break;
        case 't': conn_timeout = atof(optarg); break;
        case 'o': probe_timeout = atof(optarg); break;
        case 'i': {
            char *save, *list = strdup(optarg);
            for (char *tok = strtok_r(list, ",", &save); tok && npids < 64; tok = strtok_r(NULL, ",", &save))
                pids[npids++] = (pid_t)atoi(tok);
            break;
        }
        case 'v': verbose = 1; break;
        default: usage();
        }
    }
    if (port <= 0 || (tls_version != 13 && tls_version != 12) || concurrency < 1) usage();
    if (mode == MODE_HOLD && hold_count < 1) usage();
    if (count_limit < 0 || (count_limit && mode != MODE_CONN)) usage();
    if (expect_refusal && (mode != MODE_CONN || resume)) usage();
    if (status_request && (mode != MODE_CONN || expect_refusal)) usage();
}

/* One descriptor per held connection: takes the hard limit, and checks that hold mode fits in it. */
static void raise_open_files_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (mode == MODE_HOLD && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)hold_count + 64)
        die("--hold %d needs %d descriptors; the open-files limit is %llu", hold_count, hold_count + 64,
            (unsigned long long)rl.rlim_cur);
}

/* The target address, the expected digest and group, and the two requests. */
static void prepare_expectations(void) {
    memset(&target, 0, sizeof target);
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &target.sin_addr) != 1) die("--host must be an IPv4 address: %s", host);

    if (expect_sha256) {
        if (strlen(expect_sha256) != 64) die("--expect-sha256 needs 64 hex digits");
        for (int i = 0; i < 32; i++) {
            unsigned v;
            if (sscanf(expect_sha256 + 2 * i, "%2x", &v) != 1) die("--expect-sha256: not hex");
            expected_digest[i] = (unsigned char)v;
        }
    }
    if (expect_group) {
        expected_nid = OBJ_sn2nid(expect_group);
        if (expected_nid == NID_undef) expected_nid = OBJ_txt2nid(expect_group);
        if (expected_nid == NID_undef && !strcmp(expect_group, "P-256")) expected_nid = NID_X9_62_prime256v1;
        if (expected_nid == NID_undef) die("--expect-group: unknown group %s", expect_group);
    }
    const char *host_header = server_name ? server_name : host;
    request_keepalive_len = (size_t)snprintf(request_keepalive, sizeof request_keepalive,
                                             "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host_header);
    request_close_len = (size_t)snprintf(request_close, sizeof request_close,
                                         "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host_header);
}

static SSL_CTX *client_context(void) {
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    if (!c) die("SSL_CTX_new failed");
    int v = tls_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(c, v);
    SSL_CTX_set_max_proto_version(c, v);
    if (tls_version == 13 && SSL_CTX_set_ciphersuites(c, suites) != 1) die("--suites: none usable in %s", suites);
    if (tls_version == 12 && SSL_CTX_set_cipher_list(c, ciphers) != 1) die("--ciphers: none usable in %s", ciphers);
    if (SSL_CTX_set1_groups_list(c, groups) != 1) die("--groups: unknown group in %s", groups);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL); /* self-signed; CertificateVerify is still checked */
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF | (no_tickets ? SSL_OP_NO_TICKET : 0));
    /* sessions are kept per connection slot by this program, not by OpenSSL's cache */
    SSL_CTX_set_session_cache_mode(c, resume ? SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE
                                             : SSL_SESS_CACHE_OFF);
    return c;
}

int main(int argc, char **argv) {
    parse_options(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    raise_open_files_limit();
    prepare_expectations();
    ctx = client_context();
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1: %s", strerror(errno));
    switch (mode) {
    case MODE_CONN: run_conn(); return 0;
    case MODE_BULK: run_bulk(); return 0;
    case MODE_HOLD: return run_hold();
    case MODE_PROBE: return run_probe();
    }
    return 0;
}
