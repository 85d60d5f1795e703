// Runs a script in a child process of the runtime under test (a .ts file on
// Deno and Bun, its tsc output on Node), with a bound against hanging.
import { spawn } from "node:child_process";
import process from "node:process";
import { runtime } from "./_test.ts";

/** How a child process ended. */
export interface ChildOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
  /** `true` when it was still running at the limit and was killed. */
  killed: boolean;
}

/**
 * Run `path` (relative to `base`, written with a `.ts` extension) with
 * `args`; V8's `gc()` is exposed on Node and Deno (Bun has `Bun.gc`). `env`
 * replaces the environment (default: this process's).
 */
export function runScript(
  base: string,
  path: string,
  args: string[],
  limitMs: number,
  env: Record<string, string | undefined> = process.env,
): Promise<ChildOutcome> {
  const compiled = base.endsWith(".js");
  const file = new URL(compiled ? path.replace(/\.ts$/, ".js") : path, base)
    .pathname;
  const argv = runtime === "deno"
    ? ["run", "--allow-all", "--v8-flags=--expose-gc", file, ...args]
    : runtime === "node"
    ? ["--expose-gc", file, ...args]
    : [file, ...args];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    let killed = false;
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, limitMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed });
    });
  });
}

/**
 * Run tests/fixtures/lifecycle.ts in `mode` against `url`, and check that it
 * exited by itself with code 0 within 20 s: far above a normal exit, far
 * below the 120 s keep-alive a ref'd socket would wait for.
 */
export async function runLifecycleFixture(
  mode: string,
  url: string,
): Promise<ChildOutcome> {
  const outcome = await runScript(
    import.meta.url,
    "./fixtures/lifecycle.ts",
    [mode, url],
    20_000,
  );
  if (outcome.killed) {
    throw new Error(`child still running after 20 s:\n${outcome.stderr}`);
  }
  if (outcome.code !== 0) {
    throw new Error(`child exited with ${outcome.code}:\n${outcome.stderr}`);
  }
  return outcome;
}
