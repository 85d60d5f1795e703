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
