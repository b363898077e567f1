// Structured logs with pino: one line per decision, on stdout by default.
// Beta tokens and raw MachineInfo are never logged: the gate logs named
// fields only, never a body or a MachineInfo object (tests read the log to
// hold that). pino's wildcard redaction is not used: it walks every object
// logged, on every request.
import { pino, stdTimeFunctions, type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const config = {
    name: "enrollgate",
    level: options.level ?? "info",
    base: { service: "enrollgate" },
    timestamp: stdTimeFunctions.isoTime,
  };
  return options.destination === undefined ? pino(config) : pino(config, options.destination);
}

/** A logger that writes nothing. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
