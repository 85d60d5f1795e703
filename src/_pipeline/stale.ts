// Stale connections: a kept-alive connection the server closed just as it
// was reused fails the request before any answer. Such a request is sent
// once more, at once, on another connection, when that is safe (pure).
import { errorCode, IDEMPOTENT } from "../_http.ts";
import { H2_GOAWAY } from "../adapters/_errors.ts";
import type { Exchange } from "./exchange.ts";
import type { Hop } from "./prepare.ts";

/** An attempt that failed before its response headers arrived. */
export interface FailedSend {
  readonly error: unknown;
  /** Whether the connection had served a request before (undefined: unknown). */
  readonly reused: boolean | undefined;
  readonly method: string;
  /** The body can be sent again. */
  readonly replayable: boolean;
  /** The request was aborted (timeout, the user, destroy()). */
  readonly aborted: boolean;
  /** This request was already resent for a stale connection once. */
  readonly resent: boolean;
}

/**
 * `true` when the failure is a stale kept-alive connection (adapters mark
 * "closed by the server" with `code` `ECONNRESET`, and an h2 connection the
 * server sent away with `H2_GOAWAY`) and the request may go again:
 * idempotent, replayable, not aborted, not resent before.
 */
export function resendsStale(failed: FailedSend): boolean {
  if (
    failed.resent || failed.aborted || !failed.replayable ||
    !IDEMPOTENT.has(failed.method)
  ) {
    return false;
  }
  const code = errorCode(failed.error);
  // An h2 connection the server sent away: on a new one as on a reused one.
  return code === H2_GOAWAY ||
    (code === "ECONNRESET" && failed.reused !== false);
}

/**
 * When `exchange` failed on a stale connection and may go again: end it,
 * tell observers (a `retry` event, reason `stale-connection`) and return
 * `true`; the caller sends the hop once more, at once.
 */
export function takeStaleResend(
  exchange: Exchange,
  hop: Hop,
  error: unknown,
): boolean {
  const { call, attempt } = exchange;
  const resend = resendsStale({
    error,
    reused: exchange.reused,
    method: hop.method,
    replayable: hop.replay !== undefined,
    aborted: call.aborted,
    resent: call.staleResent,
  });
  if (!resend) return false;
  call.staleResent = true;
  exchange.finish();
  call.emit?.({
    type: "retry",
    method: hop.info.method,
    url: hop.info.url,
    attempt,
    reason: "stale-connection",
    delay: 0,
    error,
  });
  return true;
}
