/* Links smtpc through dependency('smtpc') and uses each layer a little: the
 * version check, the engine (sans-io, no network) and the message builder. */
#include <smtpc.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    if (smtpc_version_number() != SMTPC_VERSION_NUMBER) {
        fprintf(stderr, "header %s, library %s\n", SMTPC_VERSION_STRING, smtpc_version());
        return 1;
    }
    smtpc_engine *e = NULL;
    if (smtpc_engine_new(NULL, "consumer.example", 0, 0, &e) != SMTPC_OK)
        return 1;
    int ok = smtpc_engine_begin_session(e) == SMTPC_OK &&
             smtpc_engine_want(e) == SMTPC_WANT_READ;
    static const char greeting[] = "220 mx.example ESMTP\r\n";
    ok = ok && smtpc_engine_feed(e, (const uint8_t *)greeting, strlen(greeting)) == SMTPC_OK &&
         smtpc_engine_want(e) == SMTPC_WANT_WRITE;
    const uint8_t *out = NULL;
    size_t n = 0;
    ok = ok && smtpc_engine_output(e, &out, &n) == SMTPC_OK && n > 5 &&
         memcmp(out, "EHLO ", 5) == 0;
    smtpc_engine_free(e);
    printf("smtpc %s: %s\n", smtpc_version(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
