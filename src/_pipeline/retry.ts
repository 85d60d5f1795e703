// The retry stage's last word: the user's `shouldRetry`, asked about each
// retry the policy (../retry.ts) would make.
import type { SessionResponse } from "../response.ts";
import { MAX_TIMER } from "../_timers.ts";
import type { Call } from "./call.ts";

/**
 * The user's `shouldRetry` verdict: the delay to wait, or `undefined` for
 * no retry.
 */
export async function askShouldRetry(
  call: Call,
  attempt: number,
  response: SessionResponse | undefined,
  error: unknown,
  delay: number,
): Promise<number | undefined> {
  const { shouldRetry } = call.plan.retry;
  if (shouldRetry === undefined) return delay;
  const verdict = await shouldRetry({
    retry: attempt + 1,
    request: call.plan.info,
    response,
    error,
    delay,
  });
  if (verdict === false) return undefined;
  if (typeof verdict !== "number") return delay;
  if (!(verdict >= 0) || verdict > MAX_TIMER) {
    throw new RangeError(
      `Cannot retry request as 'retry.shouldRetry' returned ${verdict}: expected a boolean or a delay in milliseconds`,
    );
  }
  return verdict;
}

/**
 * Tell observers of retry number `retry` (1-based): made after `delay` ms
 * for a `status` or an `error`, or not made (`budget`).
 */
export function emitRetry(
  call: Call,
  retry: number,
  reason: "status" | "error" | "budget",
  delay: number,
  response: SessionResponse | undefined,
  error: unknown,
): void {
  const emit = call.emit;
  if (emit === undefined) return;
  const { info } = call.plan;
  emit({
    type: "retry",
    method: info.method,
    url: info.url,
    attempt: retry,
    reason,
    delay,
    status: response?.status,
    error,
  });
}
