/* smtpc — an embeddable SMTP client library.
 * SPDX-License-Identifier: MIT
 *
 * One include for the whole public API. Layers, bottom up:
 *   smtpc/base.h       status codes, error record, allocator hook, trace
 *   smtpc/transport.h  socket and user-callback transports
 *   smtpc/tls.h        TLS configuration and the TLS transport (mbedTLS)
 *   smtpc/auth.h       SMTP AUTH settings
 *   smtpc/engine.h     the sans-io SMTP engine
 *   smtpc/client.h     the blocking client
 *   smtpc/message.h    the streaming MIME message builder
 */
#ifndef SMTPC_H
#define SMTPC_H

#include "smtpc/base.h"
#include "smtpc/transport.h"
#include "smtpc/tls.h"
#include "smtpc/engine.h"
#include "smtpc/auth.h"
#include "smtpc/client.h"
#include "smtpc/message.h"

#endif
