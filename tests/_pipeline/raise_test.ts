import assert from "node:assert/strict";
import { HttpError, type StatusPredicate } from "../../mod.ts";
import { isRaised, raiseForStatus } from "../../src/_pipeline/raise.ts";
import { SessionResponse } from "../../src/response.ts";
import { test } from "../_test.ts";

test("isRaised() reads raiseForStatus as true, false or a predicate", () => {
  const serverErrors: StatusPredicate = (status) => status >= 500;
  const table: [boolean | StatusPredicate, number, boolean][] = [
    [true, 200, false],
    [true, 299, false],
    [true, 199, true],
    [true, 300, true],
    [true, 404, true],
    [false, 500, false],
    [serverErrors, 404, false],
    [serverErrors, 503, true],
    [() => "yes" as unknown as boolean, 500, false], // only `true` counts
  ];
  for (const [raise, status, expected] of table) {
    assert.equal(isRaised(raise, status), expected, `${raise} ${status}`);
  }
});

function response(
  status: number,
  body: string | null = "oops",
): SessionResponse {
  return SessionResponse.from(new Response(body, { status }), {
    method: "GET",
    url: "https://api.test/x",
  });
}

test("raiseForStatus() gives the response, or an HttpError with the body read", async () => {
  const ok = response(200, "fine");
  assert.equal(raiseForStatus(ok, true, (e) => e), ok);
  const error = await Promise.resolve(
    raiseForStatus(response(503), true, (e) => e),
  ).catch((e) => e);
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 503);
  assert.equal(await error.response.text(), "oops");
  assert.match(
    error.message,
    /503 Service Unavailable: GET https:\/\/api.test\/x/,
  );
  // A throwing predicate: its error, and the body is discarded.
  const thrown = new Error("predicate");
  const failing = response(500);
  await assert.rejects(
    Promise.resolve(raiseForStatus(failing, () => {
      throw thrown;
    }, (e) => e)),
    (error) => error === thrown,
  );
  assert.equal(failing.bodyUsed, true);
});
