// Structured logs with pino: one line per decision, on stdout by default.
// Beta tokens and raw MachineInfo are never logged; the redact list is a
// second line of defence should a caller add them to a log object.
import { pino, stdTimeFunctions, type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const config = {
    name: "enrollgate",
    level: options.level ?? "info",
    base: { service: "enrollgate" },
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: ["*.Token", "*.token", "*.RequireBetaProgram", "machineInfo", "*.machineInfo", "rawBody", "*.rawBody"], censor: "[redacted]" },
  };
  return options.destination === undefined ? pino(config) : pino(config, options.destination);
}

/** A logger that writes nothing. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
