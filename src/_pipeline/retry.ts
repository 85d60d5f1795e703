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
