/* smtpc command-line tool: what its parts share. Uses the public API only.
 * SPDX-License-Identifier: MIT */
#ifndef SMTPC_CLI_H
#define SMTPC_CLI_H

#include <smtpc.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>

/* A growable list of owned strings. */
typedef struct {
    char **v;
    size_t n, cap;
} strlist;
int strlist_addn(strlist *l, const char *s, size_t len); /* 0, or -1 out of memory */
int strlist_add(strlist *l, const char *s);
/* Add s unless an equal string (ASCII case ignored) is already there. */
int strlist_add_unique(strlist *l, const char *s);
void strlist_free(strlist *l);
char *cli_strdup(const char *s);
/* Zero s (a secret) and free it. */
void cli_free_secret(char *s);

/* Connection settings from one source (config, environment, flags): NULL or
 * -1 where that source says nothing. Strings are owned. */
typedef struct {
    char *host, *port, *security, *cafile, *user, *password, *passwordeval, *from, *timeout,
        *ehlo;
    /* DKIM signing: key file, d=, s=, h= (a:b:c) and canonicalization */
    char *dkim_key, *dkim_domain, *dkim_selector, *dkim_headers, *dkim_canon;
    int allow_plaintext_auth;
} cli_settings;
void cli_settings_init(cli_settings *s);
void cli_settings_free(cli_settings *s);
/* Move every setting src has into dst (dst's value, if any, is dropped). A
 * password or passwordeval in src replaces both of dst's. */
void cli_settings_overlay(cli_settings *dst, cli_settings *src);

/* config.c. The config file at path (explicit: given by the user, so it must
 * exist) and the account chosen (NULL: "default" when defined, else the
 * defaults). Returns 0 or an EX_* code after printing why. */
int cli_config_load(const char *path, int explicit_path, const char *account, cli_settings *out);
/* The default path ($XDG_CONFIG_HOME or ~/.config, then smtpc/config), malloc'd, or NULL. */
char *cli_config_default_path(void);
int cli_settings_from_env(cli_settings *out);
/* Run cmd with /bin/sh; the first line of its output is the password. */
int cli_passwordeval(const char *cmd, char **password);

/* Everything the command line said. */
typedef struct {
    int read_recipients; /* -t */
    int ignore_dots;     /* -i, -oi */
    int dry_run, trace;
    int progress; /* -1: when stderr is a terminal, 0 never, 1 always */
    const char *envelope_from; /* -f, -r */
    const char *config_path, *account;
    cli_settings flags;
    strlist rcpts; /* arguments */
    /* compose mode */
    int compose;
    const char *from, *subject, *text, *html;
    strlist to, cc, bcc, attach, headers;
    /* DSN (-N/--dsn-notify, -R/--dsn-ret, -V/--dsn-envid) and REQUIRETLS */
    const char *dsn_notify, *dsn_ret, *dsn_envid;
    int allow_no_dsn, requiretls;
} cli_options;
/* Returns 0, CLI_EXIT_DONE (help or version printed) or EX_USAGE. */
#define CLI_EXIT_DONE (-1)
int cli_parse_args(int argc, char **argv, cli_options *o);
void cli_options_free(cli_options *o);

/* addr.c: RFC 5322 address lists (header values and arguments). Appends
 * each bare address found to out (duplicates dropped). 0 or -1 (memory). */
int cli_address_list(const char *value, size_t len, strlist *out);
/* "Name <addr>" or "addr" into malloc'd parts (*name NULL when none).
 * Returns 0, -1 out of memory, -2 malformed. */
int cli_mailbox(const char *s, char **addr, char **name);

/* rawmsg.c: a message read from stdin (sendmail mode), spooled. */
typedef struct {
    uint8_t *head; /* header section without Bcc, and the blank line, CRLF */
    size_t head_len;
    FILE *body; /* the rest, CRLF, in a temporary file */
    int64_t body_len;
    int eight_bit;
    strlist rcpts;  /* To, Cc and Bcc addresses, when asked for */
    char *from;     /* the first From address, or NULL */
    int64_t pos;    /* read position */
    int read_error; /* errno of a failed read */
} cli_raw;
int cli_raw_load(FILE *in, int ignore_dots, int want_rcpts, cli_raw *out);
int cli_raw_read(void *user, uint8_t *buf, size_t cap, size_t *len); /* smtpc_read_fn */
int cli_raw_rewind(cli_raw *r);
void cli_raw_free(cli_raw *r);

/* compose.c: the message of compose mode. from is the From mailbox to use. */
int cli_compose(const cli_options *o, const char *from, smtpc_message **out);

/* dkim.c: the signer the settings ask for (*out NULL when none), or an
 * EX_* code after printing why. */
int cli_dkim_setup(const cli_settings *s, smtpc_dkim **out);
/* Sign the spooled message and put the DKIM-Signature header in front of
 * its head. 0 or an EX_* code after printing why. */
int cli_dkim_sign_raw(cli_raw *r, smtpc_dkim *d);

/* progress.c: a bar on stderr while the body goes out. */
typedef struct {
    int on;
    int64_t total, done;
    double start, last;
    int drawn;
} cli_progress;
void cli_progress_start(cli_progress *p, int mode, int64_t total);
void cli_progress_add(cli_progress *p, size_t n);
void cli_progress_end(cli_progress *p);

/* status.c: sysexits codes for smtpc's errors, and the report on stderr. */
int cli_exit_code(const smtpc_error *err);
void cli_report(const char *what, const smtpc_error *err);
/* One line per refused recipient; returns EX_UNAVAILABLE when one was
 * refused for good, EX_TEMPFAIL when only for now, else 0. */
int cli_report_rcpts(const smtpc_engine *e, char *const *rcpts);

#endif
