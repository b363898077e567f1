// The ADU client against a fake ADU server on loopback: both APIs, ETags,
// throttling, failures, paging, timeouts and credentials.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type AduApi,
  aduAvailability,
  AduClient,
  aduCredential,
  AduError,
  parseAduCatalog,
  pullAduCatalog,
  retryAfterMs,
  serializeAduCatalog,
  staticToken,
  type TokenCredential,
} from "enrollgate/feeds";
import { startFakeAdu, type FakeAdu } from "../helpers/fake-adu.js";

let adu: FakeAdu;
const waits: number[] = [];

beforeAll(async () => {
  adu = await startFakeAdu();
});
afterAll(() => adu.close());
beforeEach(() => {
  adu.requests.length = 0;
  adu.script.length = 0;
  adu.updates.clear();
  adu.pageSize = 0;
  waits.length = 0;
  adu.updates.set("Contoso/iOS/26.6.1", {
    compatibility: [{ deviceManufacturer: "Apple", deviceModel: "iPhone17,1" }],
    etag: '"3fed3378-0c67-47d2-b796-296962c66cbb"',
  });
});

function client(api: AduApi = "2022-10-01", more: Partial<ConstructorParameters<typeof AduClient>[0]> = {}): AduClient {
  return new AduClient({
    baseUrl: adu.url,
    instance: "blue",
    api,
    credential: staticToken(adu.token),
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    ...more,
  });
}

describe("Get Update", () => {
  it.each(["2022-10-01", "v2"] as const)("reads an update through the %s API", async (api) => {
    const r = await client(api).getUpdate("Contoso", "iOS", "26.6.1");
    expect(r).toEqual({
      ok: true,
      notModified: false,
      update: {
        provider: "Contoso",
        name: "iOS",
        version: "26.6.1",
        compatibility: [{ deviceManufacturer: "Apple", deviceModel: "iPhone17,1" }],
        etag: '"3fed3378-0c67-47d2-b796-296962c66cbb"',
      },
    });
    const seen = adu.requests[0];
    expect(seen?.url).toBe(
      api === "v2"
        ? "/deviceupdate/blue/v2/updates/providers/Contoso/names/iOS/versions/26.6.1"
        : "/deviceUpdate/blue/updates/providers/Contoso/names/iOS/versions/26.6.1?api-version=2022-10-01",
    );
    expect(seen?.headers.authorization).toBe(`Bearer ${adu.token}`);
    expect(seen?.headers["if-none-match"]).toBeUndefined();
  });

  it("sends the stored ETag, quotes and all, and keeps the cached copy on 304", async () => {
    const first = await client().getUpdate("Contoso", "iOS", "26.6.1");
    if (!first.ok) throw new Error("not found");
    const second = await client().getUpdate("Contoso", "iOS", "26.6.1", first.update);
    expect(adu.requests[1]?.headers["if-none-match"]).toBe('"3fed3378-0c67-47d2-b796-296962c66cbb"');
    expect(second).toEqual({ ok: true, update: first.update, notModified: true });
  });

  it("reports 404 as not imported, with the service's reason", async () => {
    expect(await client().getUpdate("Contoso", "iOS", "99.0")).toEqual({
      ok: false,
      message:
        "update Contoso/iOS/99.0 is not imported into ADU (UpdateNotFound: Update Contoso/iOS/99.0 was not found)",
    });
  });

  it("reports a 404 without a body as not imported too", async () => {
    adu.script.push({ status: 404 });
    expect(await client().getUpdate("Contoso", "iOS", "26.6.1")).toEqual({
      ok: false,
      message: "update Contoso/iOS/26.6.1 is not imported into ADU",
    });
  });

  it("honours Retry-After in seconds on 429, then succeeds", async () => {
    adu.script.push({ status: 429, headers: { "retry-after": "3" } });
    expect((await client().getUpdate("Contoso", "iOS", "26.6.1")).ok).toBe(true);
    expect(waits).toEqual([3000]);
    expect(adu.requests).toHaveLength(2);
  });

  it("honours retry-after-ms over Retry-After", async () => {
    adu.script.push({ status: 429, headers: { "retry-after-ms": "250", "retry-after": "9" } });
    await client().getUpdate("Contoso", "iOS", "26.6.1");
    expect(waits).toEqual([250]);
  });

  it("caps a long Retry-After, and backs off with jitter when there is none", async () => {
    adu.script.push({ status: 429, headers: { "retry-after": "3600" } }, { status: 429 });
    await client("2022-10-01", { maxDelayMs: 5000 }).getUpdate("Contoso", "iOS", "26.6.1");
    expect(waits).toEqual([5000, 500]); // capped; then 0.5 × 250 ms × 2^2
  });

  it("retries a 500, then succeeds", async () => {
    adu.script.push({ status: 500, body: "boom" }, { status: 503 });
    expect((await client().getUpdate("Contoso", "iOS", "26.6.1")).ok).toBe(true);
    expect(waits).toEqual([250, 500]);
  });

  it("gives up after its tries, saying so", async () => {
    adu.script.push({ status: 500 }, { status: 500 }, { status: 500 });
    await expect(client("2022-10-01", { maxAttempts: 3 }).getUpdate("Contoso", "iOS", "26.6.1")).rejects.toThrow(
      `${adu.url} failed with 500 (after 3 tries)`,
    );
  });

  it("times out a hung request", async () => {
    adu.script.push("hang", "hang");
    const err = await client("2022-10-01", { timeoutMs: 150, maxAttempts: 2 })
      .getUpdate("Contoso", "iOS", "26.6.1")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AduError);
    expect(err).toMatchObject({ kind: "timeout", message: `${adu.url} did not answer within 150 ms (after 2 tries)` });
  });

  it("names the role the caller needs on 401 and 403", async () => {
    const bad = new AduClient({
      baseUrl: adu.url,
      instance: "blue",
      api: "2022-10-01",
      credential: staticToken("wrong"),
      maxAttempts: 1,
    });
    await expect(bad.getUpdate("Contoso", "iOS", "26.6.1")).rejects.toThrow(
      /ADU rejected the token .* \(401\): Unauthorized: Invalid token; check ENROLLGATE_ADU_TOKEN .*Device Update Content Reader role .* on instance blue/,
    );
    adu.script.push({ status: 403, body: JSON.stringify({ error: { code: "Forbidden", message: "no access" } }) });
    await expect(client().getUpdate("Contoso", "iOS", "26.6.1")).rejects.toMatchObject({
      kind: "forbidden",
      message: expect.stringMatching(
        /\(403\): Forbidden: no access; the identity needs the Device Update Content Reader role/,
      ),
    });
  });

  it("says when ADU cannot be reached", async () => {
    const closed = await startFakeAdu();
    await closed.close();
    const gone = new AduClient({
      baseUrl: closed.url,
      instance: "blue",
      api: "v2",
      credential: staticToken("t"),
      maxAttempts: 1,
    });
    await expect(gone.getUpdate("Contoso", "iOS", "26.6.1")).rejects.toMatchObject({
      kind: "unreachable",
      message: `${closed.url} cannot be reached: ECONNREFUSED (after 1 tries)`,
    });
  });
});

describe("List Versions", () => {
  it.each(["2022-10-01", "v2"] as const)("follows relative nextLinks through every page (%s)", async (api) => {
    for (const v of ["26.4", "26.5", "26.6", "26.6.1", "26.6.2"])
      adu.updates.set(`Contoso/iOS/${v}`, { compatibility: [], etag: `"${v}"` });
    adu.pageSize = 2;
    expect(await client(api).listVersions("Contoso", "iOS")).toEqual(["26.6.1", "26.4", "26.5", "26.6", "26.6.2"]);
    expect(adu.requests.map((r) => r.url.replace(/^.*versions/, ""))).toEqual(
      api === "v2"
        ? ["", "?skipToken=2", "?skipToken=4"]
        : ["?api-version=2022-10-01", "?api-version=2022-10-01&skipToken=2", "?api-version=2022-10-01&skipToken=4"],
    );
  });

  it("refuses a nextLink to another host: the token would go with it", async () => {
    adu.script.push({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ value: ["1"], nextLink: "https://evil.example/next" }),
    });
    await expect(client().listVersions("Contoso", "iOS")).rejects.toThrow(
      "ADU's nextLink points to another host (https://evil.example)",
    );
  });
});

describe("credentials", () => {
  it("asks any getToken(scope) object for the ADU scope", async () => {
    const scopes: unknown[] = [];
    const credential: TokenCredential = {
      getToken: (scope) => (scopes.push(scope), Promise.resolve({ token: adu.token })),
    };
    await new AduClient({ baseUrl: adu.url, instance: "blue", api: "2022-10-01", credential }).getUpdate(
      "Contoso",
      "iOS",
      "26.6.1",
    );
    expect(scopes).toEqual(["https://api.adu.microsoft.com/.default"]);
  });

  it("takes ENROLLGATE_ADU_TOKEN from the environment first", async () => {
    const c = await aduCredential({ ENROLLGATE_ADU_TOKEN: " from-env " });
    expect(await c.getToken("x")).toEqual({ token: "from-env" });
  });

  it("reads Retry-After as an HTTP date", () => {
    const now = Date.parse("2026-11-22T10:00:00Z");
    expect(retryAfterMs(new Headers({ "retry-after": "Sun, 22 Nov 2026 10:00:07 GMT" }), now)).toBe(7000);
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }), now)).toBeNull();
  });
});

describe("the catalog", () => {
  const ref = { provider: "Contoso", name: "iOS", manufacturer: "Apple" };

  it("pulls what the policies want and writes a snapshot that reads back", async () => {
    adu.updates.set("Contoso/iOS/26.5", {
      compatibility: [{ manufacturer: "Apple", model: "iPhone17,1" }],
      etag: '"a"',
    });
    const { catalog, failures } = await pullAduCatalog(
      client(),
      [
        { provider: "Contoso", name: "iOS", version: "26.6.1" },
        { provider: "Contoso", name: "iOS", version: "27.0" },
        { provider: "Contoso", name: "iOS", version: null },
      ],
      { url: adu.url, instance: "blue", api: "2022-10-01" },
      null,
    );
    expect(failures).toEqual([]);
    expect(catalog.entries.map((e) => [e.version, e.status])).toEqual([
      ["26.6.1", "present"],
      ["27.0", "not-imported"],
      ["26.5", "present"],
    ]);
    expect(parseAduCatalog(serializeAduCatalog(catalog))).toEqual(catalog);
  });

  it("keeps the last good entries when ADU fails", async () => {
    const good = (await pullAduCatalog(client(), [{ provider: "Contoso", name: "iOS", version: "26.6.1" }], null, null))
      .catalog;
    adu.script.push({ status: 500 }, { status: 500 });
    const { catalog, failures } = await pullAduCatalog(
      client("2022-10-01", { maxAttempts: 2 }),
      [{ provider: "Contoso", name: "iOS", version: "26.6.1" }],
      null,
      good,
    );
    expect(failures).toHaveLength(1);
    expect(catalog.entries).toEqual(good.entries);
  });

  it("marks an update ADU could not answer for, with no earlier copy, unknown", async () => {
    adu.script.push({ status: 500 });
    const { catalog } = await pullAduCatalog(
      client("2022-10-01", { maxAttempts: 1 }),
      [{ provider: "Contoso", name: "iOS", version: "26.6.1" }],
      null,
      null,
    );
    expect(catalog.entries[0]).toMatchObject({ status: "unknown", problem: expect.stringMatching(/failed with 500/) });
  });

  it("matches compatibility exactly, in both shapes; letter case alone is not a match", () => {
    const catalog = parseAduCatalog(
      JSON.stringify({
        format: "enrollgate-adu-catalog/1",
        entries: [
          {
            provider: "Contoso",
            name: "iOS",
            version: "26.6.1",
            status: "present",
            compatibility: [
              { deviceManufacturer: "Apple", deviceModel: "iPhone17,1" },
              { manufacturer: "Apple", model: "iPhone18,1" },
              { manufacturer: "apple", model: "iphone16,1" },
            ],
          },
        ],
      }),
    );
    expect(aduAvailability(catalog, ref, "26.6.1", ["iPhone17,1"])).toEqual({ available: true });
    expect(aduAvailability(catalog, ref, "26.6.1", ["iPhone18,1"])).toEqual({ available: true });
    expect(aduAvailability(catalog, ref, "26.6.1", ["iPhone16,1"])).toEqual({
      available: false,
      reason:
        "ADU update Contoso/iOS/26.6.1 is not compatible with Apple iPhone16,1 (a compatibility entry differs only in letter case)",
    });
    expect(aduAvailability(catalog, ref, "26.6.1.0", ["iPhone17,1"])).toMatchObject({
      available: false,
      reason: /is not in the catalog/,
    });
    expect(aduAvailability(catalog, ref, "26.6.1", ["iPad13,1"])).toMatchObject({ available: false });
  });

  it.each([
    ["{", /is not JSON/],
    ['{"entries":[]}', /is not an enrollgate ADU catalog/],
    ['{"format":"enrollgate-adu-catalog/1","entries":[{"provider":"C"}]}', /entry 1 needs provider, name and version/],
    [
      '{"format":"enrollgate-adu-catalog/1","entries":[{"provider":"C","name":"n","version":"1","status":"maybe"}]}',
      /entry 1 has status "maybe"/,
    ],
  ])("refuses a malformed snapshot %#", (text, message) => {
    expect(() => parseAduCatalog(text, "adu.json")).toThrow(message);
  });
});
