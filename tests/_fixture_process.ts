/**
 * A fixture script (tests/fixtures/*.mjs) run by **Node** as a child of the
 * test process, whatever runtime runs the tests, so its servers behave the
 * same on Deno, Node and Bun. The script prints one JSON line when ready
 * (`{ ready: true, ... }`), then answers each JSON command line on its
 * stdin with one JSON line; it exits when its stdin closes.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtime } from "./_test.ts";

const READY_TIMEOUT_MS = 20_000;
const COMMAND_TIMEOUT_MS = 5_000;
const KILL_AFTER_MS = 3_000;

/** A running fixture process. */
export interface FixtureProcess {
  /** Its ready line. */
  readonly ready: Record<string, unknown>;
  /** Send `{ cmd, ...args }`; resolves with the reply (rejects on `error`). */
  command(
    cmd: string,
    args?: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
  /** End it (close its stdin; SIGKILL after 3 s). Idempotent. */
  close(): Promise<void>;
}

/** The repository root: the nearest ancestor holding package.json and
 * `script` (tests run from tests/ or, compiled, from .build/tests/). */
function repoRoot(script: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (
      existsSync(join(dir, "package.json")) && existsSync(join(dir, script))
    ) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `_fixture_process.ts: no ${script} above ${import.meta.url}`,
      );
    }
    dir = parent;
  }
}

/**
 * Node itself on Node; else the Node the test runner named
 * (`SESSIONS_TEST_NODE`); else `node` on PATH.
 */
function nodeBinary(): string {
  if (runtime === "node") return process.execPath;
  return process.env.SESSIONS_TEST_NODE ?? "node";
}

/** Start `script` (a path from the repository root) with `config`. */
export async function startFixtureProcess(
  script: string,
  config: Record<string, unknown>,
): Promise<FixtureProcess> {
  const name = script.split("/").pop()!.replace(/\.mjs$/, "");
  const root = repoRoot(script);
  const child: ChildProcess = spawn(
    nodeBinary(),
    [join(root, script), JSON.stringify(config)],
    { cwd: root, stdio: ["pipe", "pipe", "pipe"] },
  );

  let stderr = "";
  let buffer = "";
  let exited = false;
  let exitCode: number | null = null;
  let spawnError: Error | undefined;
  /** Waiters for the next stdout lines, in order. */
  const waiters: Array<{
    resolve: (line: string) => void;
    reject: (error: Error) => void;
  }> = [];
  let onExit!: () => void;
  const exitedPromise = new Promise<void>((resolve) => (onExit = resolve));
  function finish(code: number | null): void {
    if (exited) return;
    exited = true;
    exitCode = code;
    const error = new Error(
      `${name} exited (${code})${spawnError ? `: ${spawnError}` : ""}\n${
        stderr.slice(-4_000)
      }`,
    );
    for (const waiter of waiters.splice(0)) waiter.reject(error);
    onExit();
  }
  child.once("close", (code) => finish(code));
  child.once("error", (error) => {
    spawnError = error;
    // Spawning failed (no pid): there may be no "close" event.
    if (child.pid === undefined) finish(null);
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-16_000);
  });
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim() === "") continue;
      const waiter = waiters.shift();
      if (waiter) waiter.resolve(line);
      else stderr += `\n(unexpected stdout line) ${line}`;
    }
  });
  child.stdin!.on("error", () => {
    // EPIPE after the child is gone: reported through "close".
  });

  /** The next stdout line, within `ms`. */
  function nextLine(ms: number, what: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      if (exited) {
        reject(new Error(`${name} exited (${exitCode})\n${stderr}`));
        return;
      }
      const waiter = {
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const index = waiters.indexOf(waiter);
        if (index !== -1) waiters.splice(index, 1);
        reject(new Error(`${name}: no ${what} after ${ms} ms\n${stderr}`));
      }, ms);
      waiters.push(waiter);
    });
  }

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= (async () => {
      if (!exited) {
        child.stdin!.end();
        const timer = setTimeout(() => child.kill("SIGKILL"), KILL_AFTER_MS);
        await exitedPromise;
        clearTimeout(timer);
      }
    })();
    return closing;
  }

  let ready: Record<string, unknown>;
  try {
    const line = await nextLine(READY_TIMEOUT_MS, "ready line");
    ready = JSON.parse(line);
    if (ready.ready !== true) {
      throw new Error(`${name}: unexpected first line ${line}`);
    }
  } catch (error) {
    if (!exited) child.kill("SIGKILL");
    await exitedPromise;
    throw error;
  }

  async function command(
    cmd: string,
    args: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>> {
    if (closing || exited) throw new Error(`${name}: already closed`);
    const reply = nextLine(COMMAND_TIMEOUT_MS, `reply to ${cmd}`);
    child.stdin!.write(JSON.stringify({ ...args, cmd }) + "\n");
    const parsed = JSON.parse(await reply);
    if (parsed.error) throw new Error(`${name}: ${parsed.error}`);
    return parsed;
  }

  return { ready, command, close };
}
