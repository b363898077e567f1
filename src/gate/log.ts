// Structured logs with pino: one line per decision, on stdout by default.
// Beta tokens and raw MachineInfo are never logged: the gate logs named
// fields only, never a body or a MachineInfo object (tests read the log to
// hold that). pino's wildcard redaction is not used: it walks every object
// logged, on every request.
import { pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from "pino";

/** The gate's logger: any pino logger (the gate writes one JSON line per decision). */
export type Logger = PinoLogger;

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
  return options.destination === undefined ? pino(config) : pino(config, options.destination);
}

/** A logger that writes nothing. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
