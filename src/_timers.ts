// Timers that never keep a process alive, on every runtime.

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
