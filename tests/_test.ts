/**
 * One `test()` for the three runtimes.
 *
 * On Deno it registers a `Deno.test` with the op and resource sanitizers on,
 * so a leaked HTTP client, unconsumed body or pending timer fails the test.
 * On Node and Bun it registers a `node:test` test with a time limit.
 *
 * @module
 */
import { test as nodeTest } from "node:test";

/** Options of {@linkcode test}. */
export interface TestOptions {
  /** Time limit in milliseconds (Node and Bun; Deno has none). @default 30_000 */
  timeout?: number;
  /** Disable Deno's sanitizers for this test (only for tests that spawn processes). */
  sanitize?: boolean;
}

interface DenoTestApi {
  test(definition: {
    name: string;
    fn: () => Promise<void> | void;
    sanitizeOps: boolean;
    sanitizeResources: boolean;
    sanitizeExit: boolean;
  }): void;
}

const deno = (globalThis as { Deno?: DenoTestApi }).Deno;

/** The runtime the suite runs on. */
export const runtime: "deno" | "bun" | "node" = deno
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/** Register a test on whichever runtime runs this file. */
export function test(
  name: string,
  fn: () => Promise<void> | void,
  options: TestOptions = {},
): void {
  const sanitize = options.sanitize ?? true;
  if (deno) {
    deno.test({
      name,
      fn,
      sanitizeOps: sanitize,
      sanitizeResources: sanitize,
      sanitizeExit: true,
    });
  } else {
    nodeTest(name, { timeout: options.timeout ?? 30_000 }, fn);
  }
}

/**
 * Poll `condition` every few milliseconds until it holds, or throw after
 * `timeout` milliseconds. Bounded: never loops forever.
 */
export async function waitFor(
  condition: () => boolean,
  { timeout = 5_000, message = "condition" }: {
    timeout?: number;
    message?: string;
  } = {},
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeout} ms waiting for ${message}`);
    }
    await delay(5);
  }
}

/** Resolve after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
