// Structured logs with pino: one line per decision, on stdout by default.
// Beta tokens and raw MachineInfo are never logged: the gate logs named
// fields only, never a body or a MachineInfo object (tests read the log to
// hold that). pino's wildcard redaction is not used: it walks every object
// logged, on every request.
//
// The decision line is most of what the gate writes, once per request, so it
// has a cheaper path (found by profiling `serve` under load): for a logger
// createLogger() made, the line is built as one string from its named fields,
// byte for byte what pino would write, without pino's walk over a merged object;
// and stdout is written once per turn of the event loop, from the main thread
// (see stdoutPerTurn).
import { pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from "pino";

/** The gate's logger: any pino logger (the gate writes one JSON line per decision). */
export type Logger = PinoLogger;

/** What the fast path needs of a logger createLogger() made: the start of every line, and where lines go. */
interface OwnLogger {
  /** `,"service":"enrollgate","name":"enrollgate"` as pino writes its bindings. */
  readonly bindings: string;
  readonly stream: DestinationStream;
}

const OWN = new WeakMap<Logger, OwnLogger>();

/** Flushes of the stdout writers alive, run when the process exits. */
const PENDING = new Set<WeakRef<() => void>>();
let exitHooked = false;

/**
 * stdout through pino's synchronous writer (sonic-boom, which retries a full pipe), the lines of one turn of the
 * event loop in one write, at the end of that turn (setImmediate). pino's default writer hands each write to a
 * libuv thread and is woken when it is done, which under load cost more than the write itself. Lines still
 * waiting are written when the process exits (process.exit, a crash, `serve` after SIGTERM and SIGINT); a SIGKILL
 * can lose the lines of the turn it interrupts.
 */
function stdoutPerTurn(): DestinationStream & { flush(cb?: (err?: Error) => void): void; flushSync(): void } {
  const boom = pino.destination({ dest: 1, sync: true });
  let pending = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === "") return;
    const chunk = pending;
    pending = "";
    boom.write(chunk);
  };
  for (const ref of PENDING) if (ref.deref() === undefined) PENDING.delete(ref);
  PENDING.add(new WeakRef(flush));
  if (!exitHooked) {
    exitHooked = true;
    process.on("exit", () => {
      for (const ref of PENDING) ref.deref()?.();
    });
  }
  return {
    write(line: string) {
      pending += line;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush(cb) {
      flush();
      cb?.();
    },
    flushSync: flush,
  };
}

/**
 * A logger as `enrollgate serve` makes one: pino JSON lines on stdout (or `destination`), at `level` (default info).
 */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const config = {
    name: "enrollgate",
    level: options.level ?? "info",
    base: { service: "enrollgate" },
    timestamp: stdTimeFunctions.isoTime,
  };
  const stream = options.destination ?? stdoutPerTurn();
  const logger = pino(config, stream);
  const bindings = (logger as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym];
  if (typeof bindings === "string") OWN.set(logger, { bindings, stream });
  return logger;
}

/** A logger that writes nothing. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/**
 * A string as pino writes it in a line (its `asString`: `"` and `\` escaped by hand, JSON.stringify for anything
 * longer than 100 characters or with a control character), so that both paths write the same bytes.
 */
export function pinoString(s: string): string {
  if (s.length > 100) return JSON.stringify(s);
  let result = "";
  let last = 0;
  let found = false;
  let point = 255;
  for (let i = 0; i < s.length && point >= 32; i++) {
    point = s.charCodeAt(i);
    if (point === 34 || point === 92) {
      result += `${s.slice(last, i)}\\`;
      last = i;
      found = true;
    }
  }
  result = found ? result + s.slice(last) : s;
  return point < 32 ? JSON.stringify(s) : `"${result}"`;
}

/** A field of a line: a string, a finite number, or null (undefined: left out, as pino leaves it out). */
/** A field of a line the gate builds: lists (CVE ids) are written as JSON.stringify writes them, as pino does. */
export type LineValue = string | number | boolean | ReadonlyArray<string> | null | undefined;

/**
 * Logs `fields` and `msg` at info, as `logger.info(fields, msg)` would. For a logger createLogger() made, the line
 * is built here as one string (the same bytes pino writes); any other logger gets `logger.info`.
 */
export function logInfo(logger: Logger, fields: Readonly<Record<string, LineValue>>, msg: string): void {
  const own = OWN.get(logger);
  if (own === undefined) {
    logger.info(fields, msg);
    return;
  }
  if (!logger.isLevelEnabled("info")) return;
  let line = `{"level":30,"time":"${new Date(Date.now()).toISOString()}"${own.bindings}`;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    line += `,"${key}":${
      value === null
        ? "null"
        : typeof value === "boolean"
          ? value
          : typeof value === "object"
            ? JSON.stringify(value)
            : typeof value === "number"
              ? Number.isFinite(value)
                ? value
                : "null"
              : pinoString(value)
    }`;
  }
  own.stream.write(`${line},"msg":${pinoString(msg)}}\n`);
}
