// enrollmentGate() mounted in real Express 4 and Express 5 apps, with and
// without body parsers in front of it, listening on 127.0.0.1.
import type { AddressInfo } from "node:net";
import express5 from "express";
import express4 from "express4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile, enrollmentGate, gateOutcome, type GateOutcome, hasErrorCode, PolicySetError } from "enrollgate";
import { base64, createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";
import { sourceOf } from "../helpers/policies.js";
import { captureLog } from "../helpers/http.js";
import { tempDir } from "../helpers/tmp.js";

const RULES = 'rules:\n  - id: floor\n    platform: iOS\n    minimum: "26.6.1"\n';

let ca: Identity;
let device: Identity;
let dir: string;

beforeAll(async () => {
  ca = await createCA();
  device = await createIdentity(ca, { kind: "ecdsa" });
  dir = await tempDir({ "policies/rules.yaml": RULES });
});

type App = {
  use: (...args: unknown[]) => unknown;
  listen: (port: number, host: string, cb: () => void) => import("node:http").Server;
};
type Flavour = {
  name: string;
  make: () => App;
  raw: () => unknown;
  json: () => unknown;
  urlencoded: (extended: boolean) => unknown;
};

const flavours: Flavour[] = [
  {
    name: "Express 5",
    make: () => express5() as unknown as App,
    raw: () => express5.raw({ type: "*/*" }),
    json: () => express5.json(),
    urlencoded: (extended) => express5.urlencoded({ extended }),
  },
  {
    name: "Express 4",
    make: () => express4() as unknown as App,
    raw: () => express4.raw({ type: "*/*" }),
    json: () => express4.json(),
    urlencoded: (extended) => express4.urlencoded({ extended }),
  },
];

const servers: import("node:http").Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

async function serve(app: App): Promise<string> {
  const server = await new Promise<import("node:http").Server>((ok) => {
    const s = app.listen(0, "127.0.0.1", () => ok(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe.each(flavours)("in $name", (flavour) => {
  async function appWith(parser: "none" | "raw" | "json") {
    const gate = enrollmentGate({
      policies: "policies",
      cwd: dir,
      verify: "enforce",
      trustAnchors: [ca.pem],
      logger: captureLog().logger,
      env: {},
    });
    expect((await gate.ready).ok).toBe(true);
    const app = flavour.make();
    if (parser === "raw") app.use(flavour.raw());
    if (parser === "json") app.use(flavour.json());
    app.use("/mdm", gate);
    app.use(
      "/mdm/profile",
      (req: { body: unknown }, res: { locals: { enrollgate: GateOutcome }; json: (v: unknown) => void }) => {
        const o = res.locals.enrollgate;
        const body = req.body;
        res.json({
          reached: true,
          reason: o.decision.reason,
          bodyBytes: Buffer.isBuffer(body) ? body.length : null,
          same: Buffer.isBuffer(body) && o.rawBody !== null && body.equals(o.rawBody),
        });
      },
    );
    return serve(app);
  }

  it.each(["none", "raw", "json"] as const)(
    "with body parser %s: blocks below the minimum and passes the rest with the body",
    async (parser) => {
      const url = await appWith(parser);
      const post = async (os: string) =>
        fetch(`${url}/mdm/profile`, {
          method: "POST",
          body: await signCms(machineInfoPlist({ OS_VERSION: os }), device),
          headers: { "content-type": "application/pkcs7-signature" },
        });
      const blocked = await post("26.5");
      expect(blocked.status).toBe(403);
      expect(await blocked.json()).toEqual({
        code: "com.apple.softwareupdate.required",
        details: { OSVersion: "26.6.1" },
      });
      const passed = await post("26.6.1");
      expect(passed.status).toBe(200);
      const seen = (await passed.json()) as { reached: boolean; reason: string; bodyBytes: number; same: boolean };
      expect(seen).toMatchObject({ reached: true, reason: "compliant", same: true });
      expect(seen.bodyBytes).toBeGreaterThan(500);
    },
  );

  it("gives handlers after the gate its outcome through gateOutcome(res), and refuses handlers it did not run before", async () => {
    const gate = enrollmentGate({ policies: "policies", cwd: dir, trustAnchors: [ca.pem], logger: false, env: {} });
    await gate.ready;
    const app = flavour.make();
    const read = (req: unknown, res: { locals: object; json: (v: unknown) => void }) => {
      try {
        const { decision, facts, source } = gateOutcome(res);
        res.json({ reason: decision.reason, serial: facts?.serial ?? null, source });
      } catch (e) {
        res.json({ error: hasErrorCode(e, "gate-not-run") ? e.message : String(e) });
      }
    };
    app.use("/mdm", gate, read);
    app.use("/elsewhere", read);
    const url = await serve(app);
    const signed = base64(await signCms(machineInfoPlist({ OS_VERSION: "26.6.1", SERIAL: "C02XK1ABJGH5" }), device));
    const decided = await fetch(`${url}/mdm/enroll`, { headers: { "x-apple-aspen-deviceinfo": signed } });
    expect(await decided.json()).toEqual({ reason: "compliant", serial: "C02XK1ABJGH5", source: "header" });
    const undecided = await fetch(`${url}/elsewhere`);
    expect(await undecided.json()).toEqual({
      error: "res.locals.enrollgate is not set: mount enrollmentGate() before this handler, on the same path",
    });
  });

  it("passes a request without MachineInfo with reason no-machine-info", async () => {
    const url = await appWith("none");
    const res = await fetch(`${url}/mdm/profile`);
    expect(await res.json()).toMatchObject({ reached: true, reason: "no-machine-info", bodyBytes: null });
  });

  it("leaves a body that is not MachineInfo in the stream for the app's own parser, even one shorter than what it looks at", async () => {
    const gate = enrollmentGate({
      policies: "policies",
      cwd: dir,
      verify: "enforce",
      trustAnchors: [ca.pem],
      logger: false,
      env: {},
    });
    await gate.ready;
    const app = flavour.make();
    app.use("/mdm", gate);
    app.use(flavour.raw());
    app.use("/mdm/checkin", (req: { body: unknown }, res: { json: (v: unknown) => void }) =>
      res.json({ body: Buffer.isBuffer(req.body) ? req.body.toString("latin1") : null }),
    );
    const url = await serve(app);
    const send = (pieces: string[]) => {
      const stream = new ReadableStream({
        start(controller) {
          for (const piece of pieces) controller.enqueue(Buffer.from(piece, "latin1"));
          controller.close();
        },
      });
      return fetch(`${url}/mdm/checkin`, {
        method: "POST",
        body: stream,
        headers: { "content-type": "application/octet-stream" },
        duplex: "half",
      }).then((r) => r.json());
    };
    const long = JSON.stringify({ Status: "Acknowledged", payload: "x".repeat(5000) });
    // In pieces, the first a single byte: the gate gives back exactly what it looked at.
    expect(await send([long.slice(0, 1), long.slice(1, 40), long.slice(40)])).toEqual({ body: long });
    // Bodies that end while they could still be CMS (0x30 starts a SEQUENCE) are not MachineInfo either.
    expect(await send(["0"])).toEqual({ body: "0" });
    expect(await send(["0\x80", "\x06\x09*"])).toEqual({ body: "0\x80\x06\x09*" });
  });

  it("reads a CMS body sent under another Content-Type as MachineInfo", async () => {
    const url = await appWith("none");
    const res = await fetch(`${url}/mdm/profile`, {
      method: "POST",
      body: await signCms(machineInfoPlist({ OS_VERSION: "26.5" }), device),
      headers: { "content-type": "text/plain" },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: "com.apple.softwareupdate.required" });
  });

  it("logs the client behind a proxy named in trustProxy", async () => {
    const log = captureLog();
    const gate = enrollmentGate({
      policies: "policies",
      cwd: dir,
      verify: "off",
      trustProxy: "loopback",
      logger: log.logger,
      env: {},
    });
    await gate.ready;
    const app = flavour.make();
    app.use("/mdm", gate, (_req: unknown, res: { json: (v: unknown) => void; locals: { enrollgate: GateOutcome } }) =>
      res.json(res.locals.enrollgate.client),
    );
    const url = await serve(app);
    const res = await fetch(`${url}/mdm/enroll`, { headers: { "x-forwarded-for": "198.51.100.9" } });
    expect(await res.json()).toEqual({ address: "198.51.100.9", peer: "127.0.0.1", viaTrustedProxy: true });
    expect(log.lines.find((l) => l.event === "decision")).toMatchObject({ client: "198.51.100.9", peer: "127.0.0.1" });
  });

  it("decides on every query parameter the app's query parser reads as deviceinfo", async () => {
    const gate = enrollmentGate({
      policies: "policies",
      cwd: dir,
      verify: "enforce",
      trustAnchors: [ca.pem],
      logger: false,
      env: {},
    });
    await gate.ready;
    const app = flavour.make() as App & { set: (name: string, value: unknown) => void };
    app.set("query parser", "extended"); // qs: Express 4's default, an option in Express 5
    app.use("/mdm", gate, (req: { query: Record<string, unknown> }, res: { json: (v: unknown) => void }) =>
      res.json({ deviceinfo: typeof req.query.deviceinfo }),
    );
    const url = await serve(app);
    const blocked = encodeURIComponent(base64(await signCms(machineInfoPlist({ OS_VERSION: "26.5" }), device)));
    for (const name of ["[deviceinfo]", "%5Bdeviceinfo%5D", "deviceinfo[]"]) {
      const res = await fetch(`${url}/mdm/web?${name}=${blocked}`);
      expect(res.status, name).toBe(403);
      expect(await res.json()).toMatchObject({ code: "com.apple.softwareupdate.required" });
    }
    // What the app's own parser made of it: the value the gate decided on.
    const compliant = encodeURIComponent(base64(await signCms(machineInfoPlist({ OS_VERSION: "26.6.1" }), device)));
    expect(await (await fetch(`${url}/mdm/web?[deviceinfo]=${compliant}`)).json()).toEqual({ deviceinfo: "string" });
  });

  describe("form fields and JSON members", () => {
    type Res = { json: (v: unknown) => void; locals: { enrollgate: GateOutcome } };
    const B = "----appFormBoundary";
    const form = (fields: Record<string, string>) => ({
      method: "POST",
      body: new URLSearchParams(fields).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    const der = async (os: string) => Buffer.from(await signCms(machineInfoPlist({ OS_VERSION: os }), device));

    it("decides on a deviceinfo field, and the app's own urlencoded() parser after it still reads the form", async () => {
      const gate = enrollmentGate({
        policies: "policies",
        cwd: dir,
        verify: "enforce",
        trustAnchors: [ca.pem],
        logger: false,
        env: {},
      });
      await gate.ready;
      const app = flavour.make();
      app.use("/mdm", gate);
      app.use(flavour.urlencoded(false));
      app.use("/mdm/web", (req: { body: unknown }, res: Res) =>
        res.json({
          body: req.body,
          source: res.locals.enrollgate.source,
          reason: res.locals.enrollgate.decision.reason,
        }),
      );
      const url = await serve(app);
      const blocked = await fetch(`${url}/mdm/web`, form({ user: "alice", deviceinfo: base64(await der("26.5")) }));
      expect(blocked.status).toBe(403);
      expect(await blocked.json()).toMatchObject({ code: "com.apple.softwareupdate.required" });
      const compliant = base64(await der("26.6.1"));
      const passed = await fetch(`${url}/mdm/web`, form({ user: "alice", deviceinfo: compliant }));
      expect(await passed.json()).toEqual({
        body: { user: "alice", deviceinfo: compliant },
        source: "form",
        reason: "compliant",
      });
      const plain = await fetch(`${url}/mdm/web`, form({ user: "alice", password: "s=cr&t" }));
      expect(await plain.json()).toEqual({
        body: { user: "alice", password: "s=cr&t" },
        source: null,
        reason: "no-machine-info",
      });
    });

    it("passes a multipart body byte for byte to an app that reads the stream itself", async () => {
      const gate = enrollmentGate({
        policies: "policies",
        cwd: dir,
        verify: "enforce",
        trustAnchors: [ca.pem],
        logger: false,
        env: {},
      });
      await gate.ready;
      const app = flavour.make();
      app.use("/mdm", gate, (req: NodeJS.ReadableStream, res: Res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () =>
          res.json({
            body: Buffer.concat(chunks).toString("base64"),
            source: res.locals.enrollgate.source,
            reason: res.locals.enrollgate.decision.reason,
          }),
        );
      });
      const url = await serve(app);
      const body = (machineInfo: Buffer) =>
        Buffer.concat([
          Buffer.from(
            `--${B}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--${B}\r\nContent-Disposition: form-data; name="deviceinfo"; filename="mi.der"\r\n\r\n`,
          ),
          machineInfo,
          Buffer.from(`\r\n--${B}--\r\n`),
        ]);
      const post = (bytes: Buffer) =>
        fetch(`${url}/mdm/web`, {
          method: "POST",
          body: bytes,
          headers: { "content-type": `multipart/form-data; boundary=${B}` },
        });
      expect((await post(body(await der("26.5")))).status).toBe(403);
      const sent = body(await der("26.6.1"));
      expect(await (await post(sent)).json()).toEqual({
        body: sent.toString("base64"),
        source: "form",
        reason: "compliant",
      });
      const other = Buffer.from(
        `--${B}\r\nContent-Disposition: form-data; name="note"\r\n\r\n${"x".repeat(3000)}\r\n--${B}--\r\n`,
      );
      expect(await (await post(other)).json()).toEqual({
        body: other.toString("base64"),
        source: null,
        reason: "no-machine-info",
      });
    });

    it("decides on a deviceinfo member of a JSON body, before or after the app's json() parser", async () => {
      for (const before of [false, true]) {
        const gate = enrollmentGate({
          policies: "policies",
          cwd: dir,
          verify: "enforce",
          trustAnchors: [ca.pem],
          logger: false,
          env: {},
        });
        await gate.ready;
        const app = flavour.make();
        if (before) app.use(flavour.json());
        app.use("/mdm", gate);
        if (!before) app.use(flavour.json());
        app.use("/mdm/api", (req: { body: unknown }, res: Res) =>
          res.json({ body: req.body, source: res.locals.enrollgate.source }),
        );
        const url = await serve(app);
        const post = (value: unknown) =>
          fetch(`${url}/mdm/api`, {
            method: "POST",
            body: JSON.stringify(value),
            headers: { "content-type": "application/json" },
          });
        expect(
          (await post({ deviceinfo: base64(await der("26.5")) })).status,
          `json() ${before ? "before" : "after"}`,
        ).toBe(403);
        const compliant = base64(await der("26.6.1"));
        expect(await (await post({ deviceinfo: compliant, n: 1 })).json()).toEqual({
          body: { deviceinfo: compliant, n: 1 },
          source: "json",
        });
      }
    });

    it("reads the fields a parser mounted before it has already parsed", async () => {
      const gate = enrollmentGate({
        policies: "policies",
        cwd: dir,
        verify: "enforce",
        trustAnchors: [ca.pem],
        logger: false,
        env: {},
      });
      await gate.ready;
      const app = flavour.make();
      app.use(flavour.urlencoded(true)); // qs: [deviceinfo] and deviceinfo[] become deviceinfo
      app.use("/mdm", gate, (req: { body: Record<string, unknown> }, res: Res) =>
        res.json({ user: req.body.user, source: res.locals.enrollgate.source }),
      );
      const url = await serve(app);
      const blocked = encodeURIComponent(base64(await der("26.5")));
      const compliant = encodeURIComponent(base64(await der("26.6.1")));
      const post = (text: string) =>
        fetch(`${url}/mdm/web`, {
          method: "POST",
          body: text,
          headers: { "content-type": "application/x-www-form-urlencoded" },
        });
      const refused = await post(`user=alice&%5Bdeviceinfo%5D=${blocked}`);
      expect(refused.status).toBe(403);
      const twice = await post(`deviceinfo[]=${compliant}&deviceinfo[]=${blocked}`);
      expect(twice.status).toBe(400);
      expect(await twice.json()).toMatchObject({
        error: "ambiguous-machine-info",
        message: "the request carries MachineInfo 2 times (2 in the form); send exactly one",
      });
      expect(await (await post(`user=alice&deviceinfo=${compliant}`)).json()).toEqual({
        user: "alice",
        source: "form",
      });
    });
  });

  it("answers malformed input itself and keeps the app alive", async () => {
    const url = await appWith("none");
    const res = await fetch(`${url}/mdm/profile`, { headers: { "x-apple-aspen-deviceinfo": "%%%" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "bad-base64",
      message: "the x-apple-aspen-deviceinfo header is not base64",
    });
    expect((await fetch(`${url}/mdm/profile`)).status).toBe(200);
  });
});

describe("with a compiled set", () => {
  it("works without a directory, and reports not ready before its set is active", async () => {
    const { set } = compile(sourceOf({ "r.yaml": RULES }));
    if (set === null) throw new Error("did not compile");
    const gate = enrollmentGate({ policies: set, verify: "off", logger: false });
    const app = express5();
    app.use(gate);
    app.use((_req, res) => {
      res.json({ ok: true });
    });
    const url = await serve(app as unknown as App);
    await gate.ready;
    const res = await fetch(url, {
      headers: { "x-apple-aspen-deviceinfo": base64(await signCms(machineInfoPlist({ OS_VERSION: "26.5" }), device)) },
    });
    expect(res.status).toBe(403);
  });

  it("answers 503 until the first set is active, and when it cannot become active", async () => {
    const broken = await tempDir({ "p/rules.yaml": "rules: [" });
    const gate = enrollmentGate({ policies: "p", cwd: broken, verify: "off", logger: false });
    const app = express5();
    app.use(gate);
    const url = await serve(app as unknown as App);
    await expect(gate.ready).rejects.toThrow(PolicySetError);
    const res = await fetch(url);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: "not-ready", message: "no policy set is active yet" });
  });
});

describe("gate.ready, as the Express app in docs/library.md awaits it", () => {
  it("rejects with the findings when the policy set does not compile, even with logging off", async () => {
    const dir = await tempDir({
      "p/rules.yaml": "rules:\n  - { id: floor, platform: iOS, minimum: 26.6 }\n",
      "p/empty.yaml": "# emptied by a bad merge\n",
    });
    const gate = enrollmentGate({ policies: "p", cwd: dir, verify: "off", logger: false });
    const app = express5();
    app.use("/mdm/enroll", gate);
    let error: unknown;
    try {
      await gate.ready;
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicySetError);
    const e = error as PolicySetError;
    expect(e.code).toBe("policy-set-invalid");
    expect(e.findings.filter((f) => f.severity === "error").map((f) => [f.file, f.line, f.code])).toEqual([
      ["p/empty.yaml", 1, "empty-rule-file"],
      ["p/rules.yaml", 2, "version-not-string"],
    ]);
    expect(e.message.split("\n")).toEqual([
      "the policy set in p does not compile: the policy set has errors",
      "p/empty.yaml:1:1 empty-rule-file the rule file is empty (nothing but comments or whitespace), which would silently remove the rules it held; write rules: [] to enforce nothing on purpose",
      'p/rules.yaml:2:42 version-not-string "minimum" is the YAML number 26.6; write it as a quoted string: "26.6"',
    ]);
  });

  it("resolves with the active revision when it compiles", async () => {
    const gate = enrollmentGate({ policies: "policies", cwd: dir, verify: "off", logger: false });
    const ready = await gate.ready;
    expect(ready).toMatchObject({ ok: true, changed: true, weakened: [] });
    expect(ready.revision).toBe(gate.store.active?.set.revision);
  });
});
