// 403 bodies as JSON and as XML property lists.
import { parse as parsePlist } from "plist";
import { describe, expect, it } from "vitest";
import type { SoftwareUpdateRequiredBody } from "enrollgate";
import { negotiateFormat, renderBody } from "enrollgate/policy";

const body: SoftwareUpdateRequiredBody = {
  code: "com.apple.softwareupdate.required",
  message: "Update iOS & <continue>",
  details: { OSVersion: "17.0 (a)", BuildVersion: "21A351a", RequireBetaProgram: { Description: "Seed", Token: "t" } },
};

describe("renderBody", () => {
  it("renders JSON with the keys in a fixed order", () => {
    const r = renderBody(body, "json");
    expect(r.status).toBe(403);
    expect(r.contentType).toBe("application/json");
    expect(r.body.toString()).toBe(
      '{"code":"com.apple.softwareupdate.required","message":"Update iOS & <continue>","details":{"OSVersion":"17.0 (a)","BuildVersion":"21A351a","RequireBetaProgram":{"Description":"Seed","Token":"t"}}}',
    );
  });

  it("renders an XML plist that parses back to the same body", () => {
    const r = renderBody(body, "plist");
    expect(r.contentType).toBe("application/xml");
    const xml = r.body.toString();
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<!DOCTYPE plist PUBLIC "-\/\/Apple\/\/DTD PLIST 1.0\/\/EN"/,
    );
    expect(xml).toContain("<string>Update iOS &amp; &lt;continue&gt;</string>");
    expect(parsePlist(xml)).toEqual(body);
  });

  it("is byte-stable", () => {
    for (const format of ["json", "plist"] as const) {
      const copy = JSON.parse(JSON.stringify(body)) as SoftwareUpdateRequiredBody;
      expect(renderBody(copy, format).body.equals(renderBody(body, format).body)).toBe(true);
    }
  });
});

describe("negotiateFormat", () => {
  it.each([
    [undefined, "json"],
    ["*/*", "json"],
    ["application/json", "json"],
    ["application/xml", "plist"],
    ["text/xml", "plist"],
    ["application/json;q=0.5, application/xml", "plist"],
    ["application/xml;q=0.2, application/json;q=0.9", "json"],
    ["application/xml;q=0", "json"],
    ["garbage;;;q=x", "json"],
  ])("%s → %s", (accept, format) => {
    expect(negotiateFormat(accept)).toBe(format);
  });
});
