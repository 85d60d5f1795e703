// Every example in examples/ runs to completion on the runtime under test
// and prints what it promises.
import assert from "node:assert/strict";
import { runScript } from "./_child.ts";
import { runtime, test } from "./_test.ts";

// The framework examples print the runtime they ran on; the names can only
// have come from the upstream, through the app's session; the socket count
// is measured at the upstream after the app shut down.
function servedThroughSession(framework: string): RegExp[] {
  const label = `${framework} \\(${runtime}\\)`;
  return [
    new RegExp(
      `${label} served Ada Lovelace, Grace Hopper, Alan Turing over 1 upstream connection\\(s\\)`,
    ),
    new RegExp(`${label} upstream sockets open after shutdown: 0$`, "m"),
  ];
}

const expectations: Record<string, RegExp[]> = {
  "squares.ts": [
    /\{"values":\["1","2","3","4","5","6","7","8","9","10"\],"results":\["1","4","9","16","25","36","49","64","81","100"\]\}/,
    /one session \(MathRequests\)\s+10 TCP connection\(s\)/,
    /a session per request\s+550 TCP connection\(s\)/,
  ],
  "app_lifecycle.ts": [
    /node:http {2}served ada, grace, alan, edsger, barbara over 1 upstream connection\(s\)/,
    /node:http {2}sessions closed with the server: true, upstream sockets open: 0$/m,
    /Fastify {4}served .* over 1 upstream connection\(s\)/,
    /Fastify {4}sessions closed with the server: true, upstream sockets open: 0$/m,
    // Its third part serves with Deno.serve, on Deno only.
    ...(runtime === "deno"
      ? [
        /Deno\.serve served .* over 1 upstream connection\(s\)/,
        /Deno\.serve sessions closed with the server: true, upstream sockets open: 0$/m,
      ]
      : []),
  ],
  "hono_app.ts": servedThroughSession("Hono"),
  "express_app.ts": servedThroughSession("Express"),
  "basic.ts": [/100 requests in [\d.]+ ms over \d+ connection\(s\)/],
  "two_sessions.ts": [
    /urgent request answered after \d+ ms/,
    /billing finished in position [1-3] of 21/,
    /the server saw at most 3 requests at once/,
  ],
};

for (const [name, patterns] of Object.entries(expectations)) {
  test(`Example ${name} runs`, async () => {
    const outcome = await runScript(
      import.meta.url,
      `../examples/${name}`,
      [],
      30_000,
    );
    assert.ok(!outcome.killed, `still running after 30 s:\n${outcome.stderr}`);
    assert.equal(outcome.code, 0, outcome.stderr);
    for (const pattern of patterns) assert.match(outcome.stdout, pattern);
  });
}
