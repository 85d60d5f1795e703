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
