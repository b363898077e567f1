// MachineInfo as text: base64 in a header or a query parameter, in either
// alphabet, padded or not, possibly folded with whitespace.
import { describe, expect, it } from "vitest";
import { decodeBase64 } from "enrollgate/gate";

const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x00, 0x10, 0x83, 0x10, 0x51, 0x87]);

describe("decodeBase64", () => {
  it.each([
    ["standard, padded", bytes.toString("base64")],
    ["URL-safe", bytes.toString("base64url")],
    ["folded with whitespace", `${bytes.toString("base64").slice(0, 4)}\r\n ${bytes.toString("base64").slice(4)}`],
  ])("reads %s", (_what, text) => {
    expect(decodeBase64(text)).toEqual(bytes);
  });

  it("reads unpadded text whose length leaves 2 or 3 characters", () => {
    expect(decodeBase64("+/8")).toEqual(Buffer.from([0xfb, 0xff]));
    expect(decodeBase64("+w")).toEqual(Buffer.from([0xfb]));
  });

  it.each([
    ["empty", ""],
    ["only whitespace", " \t\n"],
    ["a stray character", "AAAA!AAA"],
    ["padding in the middle", "AA==AAAA"],
    ["three padding characters", "A==="],
    ["an impossible length", "AAAAA"],
    ["whitespace around a bad character", "AA AA*"],
  ])("refuses %s", (_what, text) => {
    expect(decodeBase64(text)).toBeNull();
  });
});
