// Every file of Apple's published corpus that has payloadkeys or responsekeys
// converts and compiles under Ajv strict mode, for no platform and for each
// platform the file supports.
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { compileAppleSchema, createAjv, parseAppleSchema, SCHEMA_PLATFORMS } from "enrollgate/apple";
import { readShared, sharedYamlFiles } from "../helpers/shared.js";

const files = sharedYamlFiles("apple-corpus").filter((f) => {
  const raw = parse(readShared("apple-corpus", f), { maxAliasCount: -1 }) as Record<string, unknown> | null;
  return raw !== null && (raw.payloadkeys !== undefined || raw.responsekeys !== undefined);
});

describe("Apple's whole schema corpus", () => {
  it("has the files the contract counts on", () => {
    expect(files.length).toBeGreaterThanOrEqual(285);
  });

  it.each(files)("%s converts and compiles for every platform it supports", (file) => {
    const doc = parseAppleSchema(readShared("apple-corpus", file), file);
    // also checks each converted schema against the 2020-12 meta-schema
    const ajv = createAjv({ validateSchema: true });
    const lists = (["payload", "response"] as const).filter((k) =>
      k === "payload" ? doc.payloadkeys !== undefined : doc.responsekeys !== undefined,
    );
    let compiled = 0;
    for (const keys of lists) {
      for (const direction of ["emit", "receive"] as const) {
        const all = compileAppleSchema(doc, { keys, direction }, ajv);
        expect(all.applicable).toBe(true);
        compiled++;
        for (const platform of SCHEMA_PLATFORMS) {
          const supported =
            doc.payload?.supportedOS === undefined || doc.payload.supportedOS[platform]?.introduced !== "n/a";
          const one = compileAppleSchema(doc, { keys, direction, platform }, ajv);
          expect(one.applicable).toBe(supported);
          if (one.applicable) compiled++;
        }
      }
    }
    expect(compiled).toBeGreaterThan(0);
  });
});
