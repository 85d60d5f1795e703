// Timers that never keep a process alive, on every runtime.

/** The longest delay setTimeout accepts (2^31 - 1 ms). */
export const MAX_TIMER = 2_147_483_647;

/** Let the process exit even while `handle` is pending (Node, Bun, Deno). */
export function unrefTimer(handle: ReturnType<typeof setTimeout>): void {
  if (typeof handle === "object" && handle !== null && "unref" in handle) {
    (handle as { unref(): void }).unref();
    return;
  }
  const deno = (globalThis as {
    Deno?: { unrefTimer?: (id: number) => void };
  }).Deno;
  if (typeof handle === "number") deno?.unrefTimer?.(handle);
}

/** What {@linkcode sleep} can be woken by: an AbortSignal, or anything shaped like one. */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** Resolve after `ms` milliseconds; reject with the reason once `signal` aborts. */
export function sleep(ms: number, signal?: AbortLike): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort);
  });
}
