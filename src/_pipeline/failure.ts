// What a failure becomes for the user: the library's own errors, from the
// codes adapters mark their runtime's errors with (see PoolAdapter.dispatch).
import { causeChain, errorCode } from "../_http.ts";
import { NetworkError, SessionError, TimeoutError } from "../errors.ts";
import type { RequestInfo } from "../request_info.ts";
import { redact } from "../url.ts";
import type { Timeouts } from "../_timeouts.ts";

/** Codes an adapter marks timeouts with, and the phase each one is. */
const TIMEOUT_CODES = {
  UND_ERR_CONNECT_TIMEOUT: "connect",
  UND_ERR_HEADERS_TIMEOUT: "headers",
  UND_ERR_BODY_TIMEOUT: "bodyIdle",
} as const;

/**
 * `error` as the user sees it: a SessionError stays; an adapter's timeout
 * becomes a TimeoutError of its phase; a refusal by the runtime itself
 * (`ERR_ACCESS_DENIED`) stays as it is; anything else is a NetworkError.
 */
export function toSessionError(
  error: unknown,
  request: RequestInfo,
  timeouts: Timeouts,
): unknown {
  if (error instanceof SessionError) return error;
  const code = errorCode(error);
  if (code === "ERR_ACCESS_DENIED") return error;
  const phase = code === undefined
    ? undefined
    : TIMEOUT_CODES[code as keyof typeof TIMEOUT_CODES];
  if (phase !== undefined && timeouts[phase] > 0) {
    return new TimeoutError(timeouts[phase], { request, cause: error, phase });
  }
  return new NetworkError(`Request failed (${describeCause(error)})`, {
    request,
    cause: error,
  });
}

/**
 * The most telling message in `error`'s cause chain, with its code, never
 * with credentials.
 */
export function describeCause(error: unknown): string {
  let message = "";
  for (const link of causeChain(error)) {
    if (!(link instanceof Error)) break;
    const code = (link as { code?: unknown }).code;
    if (typeof code === "string") {
      message = `${code}: ${link.message}`;
      break;
    }
    message = link.message;
  }
  return redact(message || String(error)).replace(/\/\/[^/\s@]*@/g, "//");
}

/**
 * A status HTTP does not have (undici and Bun pass 600-999 on; Bun even
 * 0): the server is broken.
 */
/** What a middleware chain gave instead of a response. */
export function notAResponse(value: unknown): TypeError {
  return new TypeError(
    `Cannot complete request as a middleware returned ${
      Object.prototype.toString.call(value)
    } instead of a SessionResponse`,
  );
}

export function badStatus(request: RequestInfo, status: number): NetworkError {
  return new NetworkError(
    `Request failed as the server answered with status ${status}, which is outside 100-599`,
    { request },
  );
}
