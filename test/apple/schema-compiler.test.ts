// The Apple schema compiler on hand-written fixtures: what the shared files
// do not exercise, and malformed or hostile schema files.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  AppleSchemaError,
  compileAppleSchema,
  formatViolations,
  parseAppleSchema,
  type SchemaTarget,
  toJsonSchema,
} from "enrollgate/apple";

function fixture(name: string) {
  return parseAppleSchema(readFileSync(new URL(`../fixtures/apple/${name}`, import.meta.url), "utf8"), name);
}

function check(name: string, target: SchemaTarget) {
  const compiled = compileAppleSchema(fixture(name), target);
  if (!compiled.applicable) throw new Error(compiled.reason);
  return (doc: unknown) => {
    const r = compiled.validate(doc);
    return r.ok ? "ok" : formatViolations(r.violations);
  };
}

describe("recursive aliases", () => {
  const validate = check("recursive.yaml", { direction: "emit" });

  it("becomes $defs with $ref, not an endless walk", () => {
    const conversion = toJsonSchema(fixture("recursive.yaml"), { direction: "emit" });
    expect(conversion.applicable).toBe(true);
    const text = JSON.stringify(conversion.applicable ? conversion.schema : null);
    expect(text).toContain('"$ref":"#/$defs/Items"');
    expect(text.length).toBeLessThan(2000);
  });

  it("validates any depth of nesting", () => {
    expect(validate({ Items: [{ Name: "Home", Children: [{ Name: "Work", Children: [{ Name: "Mail" }] }] }] })).toBe(
      "ok",
    );
  });

  it("rejects a bad item deep inside", () => {
    expect(validate({ Items: [{ Name: "Home", Children: [{ Name: "Work", Children: [{ Title: "Mail" }] }] }] })).toBe(
      'Items.0.Children.0.Children.0: missing required key "Name"; Items.0.Children.0.Children.0.Title: unknown key',
    );
  });
});

describe("ANY keys", () => {
  const validate = check("wildcard.yaml", { direction: "emit" });

  it("accept arbitrary key names with the wildcard's schema", () => {
    expect(validate({ Domains: { "example.com": { Enabled: true }, "example.org": { Enabled: false } } })).toBe("ok");
    expect(validate({ Domains: { "example.com": { Enabled: "yes" } } })).toBe(
      "Domains.example.com.Enabled: must be boolean",
    );
  });

  it("with presence required demand at least one key", () => {
    expect(validate({ Domains: {} })).toMatch(/^Domains: must NOT have fewer than 1 properties$/);
  });

  it("with presence required beside named keys demand one key beyond them", () => {
    expect(validate({ Domains: { a: { Enabled: true } }, Headers: { Host: "h", "X-Trace": "1" } })).toBe("ok");
    expect(validate({ Domains: { a: { Enabled: true } }, Headers: { Host: "h" } })).toMatch(
      /^Headers: must NOT be valid$/,
    );
  });

  it("with presence optional allow an empty dictionary but type every value", () => {
    expect(validate({ Domains: { a: { Enabled: true } }, Extras: {} })).toBe("ok");
    expect(validate({ Domains: { a: { Enabled: true } }, Extras: { n: "1" } })).toBe("Extras.n: must be integer");
  });
});

describe("arrays with several item variants", () => {
  it("accept any variant and reject a mix", () => {
    const validate = check("variants.yaml", { direction: "emit", platform: "iOS", os: "17.0" });
    expect(
      validate({
        Settings: [
          { Item: "DeviceName", DeviceName: "Kiosk 4" },
          { Item: "Wallpaper", Image: "aGVsbG8=" },
        ],
      }),
    ).toBe("ok");
    expect(validate({ Settings: [{ Item: "Wallpaper", DeviceName: "Kiosk 4" }] })).toBe(
      "Settings.0: does not match any allowed form",
    );
  });

  it("drop a variant the platform does not have", () => {
    const validate = check("variants.yaml", { direction: "emit", platform: "macOS", os: "14.0" });
    expect(validate({ Settings: [{ Item: "DeviceName", DeviceName: "Lab Mac" }] })).toBe("ok");
    expect(validate({ Settings: [{ Item: "Wallpaper", Image: "aGVsbG8=" }] })).not.toBe("ok");
  });
});

describe("a scalar whose subkeys list its allowed values", () => {
  it("allows exactly the listed values available at the target", () => {
    const ios17 = check("values.yaml", { direction: "emit", platform: "iOS", os: "17.4" });
    expect(ios17({ Queries: ["OSVersion", "SoftwareUpdateDeviceID", "IMEI"] })).toBe("ok");
    expect(ios17({ Queries: ["Battery"] })).toBe(
      'Queries.0: must be one of "OSVersion", "BuildVersion", "SoftwareUpdateDeviceID", "IMEI"',
    );
    const ios16 = check("values.yaml", { direction: "emit", platform: "iOS", os: "16.0" });
    expect(ios16({ Queries: ["SoftwareUpdateDeviceID"] })).toBe(
      'Queries.0: must be one of "OSVersion", "BuildVersion", "IMEI"',
    );
    const mac = check("values.yaml", { direction: "emit", platform: "macOS", os: "15.0" });
    expect(mac({ Queries: ["IMEI"] })).toMatch(/must be one of "OSVersion", "BuildVersion", "SoftwareUpdateDeviceID"$/);
  });
});

describe("supportedOS", () => {
  const props = (target: SchemaTarget) => {
    const c = toJsonSchema(fixture("availability.yaml"), target);
    if (!c.applicable) throw new Error(c.reason);
    return c.schema as {
      properties: Record<string, { properties?: Record<string, unknown>; required?: string[]; deprecated?: boolean }>;
      required: string[];
    };
  };

  it("removed: '0' means gone from every version", () => {
    expect(Object.keys(props({ direction: "emit", platform: "iOS", os: "18.0" }).properties)).not.toContain(
      "GoneEverywhere",
    );
    expect(Object.keys(props({ direction: "emit", platform: "macOS" }).properties)).not.toContain("GoneEverywhere");
    expect(Object.keys(props({ direction: "emit" }).properties)).not.toContain("GoneEverywhere");
  });

  it("removed: V drops the key from V on", () => {
    expect(Object.keys(props({ direction: "emit", platform: "macOS", os: "13.6" }).properties)).toContain(
      "RemovedInMacOS14",
    );
    expect(Object.keys(props({ direction: "emit", platform: "macOS", os: "14.0" }).properties)).not.toContain(
      "RemovedInMacOS14",
    );
    expect(Object.keys(props({ direction: "emit", platform: "iOS", os: "18.0" }).properties)).toContain(
      "RemovedInMacOS14",
    );
  });

  it("introduced: all is available at every version the payload is", () => {
    expect(props({ direction: "emit", platform: "macOS", os: "12.0" }).required).toContain("FromTheStart");
  });

  it("inherits from the parent key and overrides per platform", () => {
    const ios174 = props({ direction: "emit", platform: "iOS", os: "17.4" });
    expect(Object.keys(ios174.properties.NewInIOS17?.properties ?? {})).toEqual(["Inherited", "Later"]);
    expect(ios174.properties.NewInIOS17?.required).toEqual(["Inherited"]);
    const ios170 = props({ direction: "emit", platform: "iOS", os: "17.0" });
    expect(Object.keys(ios170.properties.NewInIOS17?.properties ?? {})).toEqual(["Inherited"]);
    expect(Object.keys(props({ direction: "emit", platform: "iOS", os: "16.4" }).properties)).not.toContain(
      "NewInIOS17",
    );
    expect(Object.keys(props({ direction: "emit", platform: "macOS", os: "15.0" }).properties)).not.toContain(
      "NewInIOS17",
    );
  });

  it("without an OS version, keeps version-limited keys but does not require them", () => {
    const ios = props({ direction: "emit", platform: "iOS" });
    expect(Object.keys(ios.properties)).toContain("NewInIOS17");
    expect(ios.required).toEqual(["Always", "FromTheStart"]);
  });

  it("marks deprecated keys at or after the deprecation", () => {
    expect(props({ direction: "emit", platform: "iOS", os: "16.0" }).properties.OldStyle?.deprecated).toBe(true);
    expect(props({ direction: "emit", platform: "iOS", os: "15.7" }).properties.OldStyle?.deprecated).toBeUndefined();
  });

  it("reports a payload that does not apply instead of an empty schema", () => {
    const doc = fixture("availability.yaml");
    expect(toJsonSchema(doc, { direction: "emit", platform: "tvOS" })).toEqual({
      applicable: false,
      reason: "Availability Rules is not available on tvOS",
    });
    expect(toJsonSchema(doc, { direction: "emit", platform: "watchOS" })).toEqual({
      applicable: false,
      reason: "Availability Rules is not supported on watchOS",
    });
    expect(toJsonSchema(doc, { direction: "emit", platform: "iPadOS", os: "14.8" })).toEqual({
      applicable: false,
      reason: "Availability Rules requires iPadOS 15.0 or later, not 14.8",
    });
  });
});

describe("type tokens and value constraints", () => {
  const validate = check("types.yaml", { direction: "emit" });
  const base = { Name: "Alice" };

  it("accepts a document using every type, in JSON forms", () => {
    expect(
      validate({
        ...base,
        Homepage: "https://example.com/",
        Port: 8443,
        Level: 2,
        Ratio: 0.25,
        Enabled: true,
        When: "2026-11-22T10:00:00Z",
        Blob: "aGVsbG8gd29ybGQ=",
        Pair: ["CN", "device"],
        Matrix: [[1, 2], [3]],
        Anything: { whatever: [1, "two"] },
        Nested: { free: "form" },
      }),
    ).toBe("ok");
  });

  it("accepts <date> and <data> in their plist forms", () => {
    expect(validate({ ...base, When: new Date("2026-11-22T10:00:00Z"), Blob: Buffer.from("hello") })).toBe("ok");
    expect(validate({ ...base, When: new Date("not a date") })).toBe("When: does not match any allowed form");
    expect(validate({ ...base, Blob: "not base64!" })).toBe("Blob: does not match any allowed form");
  });

  it.each([
    [{ Name: "alice" }, 'Name: must match pattern "^[A-Z][a-z]+$"'],
    [{ ...base, Port: 0 }, "Port: must be >= 1"],
    [{ ...base, Port: 443.5 }, "Port: must be integer"],
    [{ ...base, Level: 3 }, "Level: must be one of 0, 1, 2"],
    [{ ...base, Ratio: 1.5 }, "Ratio: must be <= 1"],
    [{ ...base, Pair: ["CN"] }, "Pair: must NOT have fewer than 2 items"],
    [{ ...base, Pair: ["a", "b", "c"] }, "Pair: must NOT have more than 2 items"],
    [{ ...base, Matrix: [[1, "2"]] }, "Matrix.0.1: must be integer"],
    [{ ...base, Homepage: "not a url" }, 'Homepage: must match format "uri"'],
    [{ ...base, Enabled: 1 }, "Enabled: must be boolean"],
  ])("rejects %j", (doc, message) => {
    expect(validate(doc)).toBe(message);
  });

  it("keeps defaults as annotations", () => {
    const c = toJsonSchema(fixture("types.yaml"), { direction: "emit" });
    expect(c.applicable && (c.schema.properties as Record<string, { default?: unknown }>).Port?.default).toBe(443);
  });

  it("allows unknown keys only in the receive direction", () => {
    expect(validate({ ...base, Surprise: 1 })).toBe("Surprise: unknown key");
    expect(check("types.yaml", { direction: "receive" })({ ...base, Surprise: 1 })).toBe("ok");
  });
});

describe("malformed and hostile schema files", () => {
  it.each([
    ["title: [unclosed\n", /^bad.yaml:2:1: Flow sequence/],
    ["- just\n- a list\n", /the document must be a mapping/],
    ["title: T\n", /neither "payloadkeys" nor "responsekeys"/],
    ["title: T\npayloadkeys:\n- key: A\n  type: <str>\n", /payloadkeys\[0\] \(A\): unknown type "<str>"/],
    ["title: T\npayloadkeys:\n- type: <string>\n", /payloadkeys\[0\]: "key" must be a non-empty string/],
    [
      "title: T\npayloadkeys:\n- key: A\n  type: <string>\n  format: '(['\n",
      /format is not a valid regular expression/,
    ],
    [
      "title: T\npayloadkeys:\n- key: A\n  type: <string>\n  supportedOS:\n    iOS:\n      introduced: soon\n",
      /introduced: "soon" is not an OS version/,
    ],
    [
      "title: T\npayloadkeys:\n- key: A\n  type: <array>\n  subkeys:\n  - key: B\n    type: <string>\n    repetition: {min: one, max: 2}\n",
      /repetition must have integer min and max/,
    ],
    ["title: T\npayloadkeys:\n- key: A\n  type: <integer>\n  range: {min: low}\n", /range must have numeric min/],
    ["title: T\npayloadkeys: 7\n", /payloadkeys must be a sequence of keys/],
  ])("rejects %j with a clear error", (text, message) => {
    expect(() => parseAppleSchema(text, "bad.yaml")).toThrow(AppleSchemaError);
    expect(() => parseAppleSchema(text, "bad.yaml")).toThrow(message);
  });

  it("refuses exponential alias expansion", () => {
    let text = "title: T\nlaughs:\n  a0: &a0 [x]\n";
    for (let i = 1; i < 40; i++) text += `  a${i}: &a${i} [*a${i - 1}, *a${i - 1}]\n`;
    text += "payloadkeys:\n- key: A\n  type: <string>\n";
    expect(() => parseAppleSchema(text, "laughs.yaml")).toThrow(/Excessive alias count/);
  });

  it("refuses nesting deeper than any real schema", () => {
    let keys = "- key: Leaf\n  type: <string>\n";
    for (let i = 0; i < 100; i++) {
      keys = `- key: K${i}\n  type: <dictionary>\n  subkeys:\n${keys.replace(/^/gm, "  ")}`;
    }
    expect(() => parseAppleSchema(`title: Deep\npayloadkeys:\n${keys}`, "deep.yaml")).toThrow(
      /nested deeper than 64 levels/,
    );
  });

  it("refuses an oversized file before parsing it", () => {
    const text = `title: Big\npayloadkeys:\n- key: A\n  type: <string>\n  content: "${"x".repeat(5 * 1024 * 1024)}"\n`;
    expect(() => parseAppleSchema(text, "big.yaml")).toThrow(/larger than 4 MiB/);
  });

  it("reports every problem in one message", () => {
    const text = "title: T\npayloadkeys:\n- key: A\n  type: <str>\n- key: B\n  type: <dict>\n";
    expect(() => parseAppleSchema(text, "two.yaml")).toThrow(/\(A\): unknown type.*\(B\): unknown type/);
  });
});
