// A session left open at the end of a Deno test is reported with where it
// was created (Deno's own leak report names only "an HTTP client"). The
// fixture runs under `deno test` from every runtime's suite.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtime, test } from "./_test.ts";

// Deno itself on Deno; else the Deno the test runner named.
function denoBinary(): string {
  if (runtime === "deno") return process.execPath;
  const deno = process.env.SESSIONS_TEST_DENO;
  if (deno === undefined) {
    throw new Error("SESSIONS_TEST_DENO is not set (npm test sets it)");
  }
  return deno;
}

// The fixture, from this file or (the tsc build on Node) the sources.
function fixture(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const tests = here.endsWith(join(".build", "tests"))
    ? join(here, "..", "..", "tests")
    : here;
  return join(tests, "fixtures", "deno_leak.ts");
}

function denoTest(file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(denoBinary(), ["test", "--allow-all", file], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (out += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

test(
  "A session left open by a Deno test is named, with where it was made",
  async () => {
    const { code, out } = await denoTest(fixture());
    assert.equal(code, 0, out);
    const reports = out.match(/Unclosed Session at the end of a test/g) ?? [];
    assert.equal(reports.length, 1, out);
    // The report sits in the output of the test that leaked, and names the
    // line that made the session.
    const leaked = out.slice(out.indexOf("leaves a session open ..."));
    assert.match(leaked, /Unclosed Session at the end of a test/);
    assert.match(leaked, /deno_leak\.ts:16:/);
  },
  { timeout: 90_000, sanitize: false },
);
