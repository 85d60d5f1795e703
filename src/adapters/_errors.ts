// Runtime errors marked with the codes the session acts on (see
// PoolAdapter.dispatch): the one place that reads runtime messages.
import { causeChain, errorCode } from "../_http.ts";

// undici's and the OS's ways of saying the server closed the connection.
const CLOSED_CODES = new Set(["UND_ERR_SOCKET", "EPIPE", "UND_ERR_CLOSED"]);
// Deno's and Bun's.
const CLOSED_MESSAGE =
  /connection closed before message completed|connection reset|broken pipe|socket hang up|socket connection was closed unexpectedly/i;

/**
 * `error`, marked `ECONNRESET` when it says the server closed or reset the
 * connection (the session may then resend a request on a stale one).
 */
export function markClosed(error: unknown): unknown {
  const code = errorCode(error);
  if (code === "ECONNRESET") return error;
  if (code !== undefined) {
    if (!CLOSED_CODES.has(code)) return error;
    return Object.assign(
      new Error((error as Error).message ?? String(error), { cause: error }),
      { code: "ECONNRESET" },
    );
  }
  // No code anywhere: mark the error whose message tells.
  const telling = causeChain(error).find((link) =>
    link instanceof Error && CLOSED_MESSAGE.test(link.message)
  );
  if (telling !== undefined) mark(telling, "ECONNRESET");
  return error;
}

/**
 * The code adapters mark a request with when its HTTP/2 connection went
 * away under it (the server's `GOAWAY`, or a stream it refused): the
 * session may send it again on a new connection, as a stale one.
 */
export const H2_GOAWAY = "ERR_HTTP2_GOAWAY_SESSION";

// undici's, Deno's (hyper's) and Bun's ways of saying it.
const GOAWAY_MESSAGE =
  /GOAWAY|REFUSED_STREAM|refused stream|not a result of an error/i;

// Deno's and Bun's ways of saying the server took no h2 in the handshake.
const NO_H2_MESSAGE = /NoApplicationProtocol|no.application.protocol/i;

/**
 * `true` when a TLS handshake that offered only h2 failed because the
 * server speaks HTTP/1.1 only (Deno's alert; Bun's `EPROTO`).
 */
export function refusedH2(error: unknown): boolean {
  return errorCode(error) === "EPROTO" ||
    causeChain(error).some((link) =>
      link instanceof Error && NO_H2_MESSAGE.test(link.message)
    );
}

/** `true` when `error` says the server sent GOAWAY or refused the stream. */
export function isGoaway(error: unknown): boolean {
  return errorCode(error) === H2_GOAWAY ||
    causeChain(error).some((link) =>
      link instanceof Error && GOAWAY_MESSAGE.test(link.message)
    );
}

/** `error`, marked {@linkcode H2_GOAWAY}. */
export function markGoaway(error: unknown): unknown {
  if (errorCode(error) === H2_GOAWAY) return error;
  return Object.assign(
    new Error((error as Error)?.message ?? String(error), { cause: error }),
    { code: H2_GOAWAY },
  );
}

/** Deno's permission errors: the runtime refused, not the network. */
export function markDenied(error: unknown): unknown {
  const name = (error as Error)?.name;
  if (name === "NotCapable" || name === "PermissionDenied") {
    mark(error, "ERR_ACCESS_DENIED");
  }
  return error;
}

function mark(error: unknown, code: string): boolean {
  try {
    Object.defineProperty(error, "code", { value: code });
    return true;
  } catch {
    return false; // a frozen error goes on unmarked
  }
}
