import assert from "node:assert/strict";
import { SlotSet, type Slotted } from "../src/_slots.ts";
import { test } from "./_test.ts";

test("SlotSet adds, deletes and snapshots members in O(1)", () => {
  const set = new SlotSet<Slotted & { name: string }>();
  const [a, b, c] = ["a", "b", "c"].map((name) => ({ name, slot: -1 }));
  set.add(a);
  set.add(b);
  set.add(c);
  set.add(b); // already a member
  assert.equal(set.size, 3);
  set.delete(a); // the last member moves into a's slot
  assert.equal(a.slot, -1);
  assert.deepEqual(set.snapshot().map((m) => m.name).sort(), ["b", "c"]);
  assert.equal(set.snapshot()[c.slot], c);
  assert.equal(set.snapshot()[b.slot], b);
  set.delete(a); // not a member: no change
  assert.equal(set.size, 2);
  const snapshot = set.snapshot();
  set.delete(b);
  set.delete(c);
  assert.equal(set.size, 0);
  assert.equal(snapshot.length, 2); // a snapshot does not change with the set
  set.add(a);
  assert.deepEqual(set.snapshot(), [a]);
});
