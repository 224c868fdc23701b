import { type AuthorizerTelemetry, createAuthorizerTelemetry } from '../../lambdas/core/authorizer-telemetry';

export type WrittenLine = Record<string, unknown> & { level?: string; message?: string };

/** Authorizer telemetry at DEBUG whose lines are parsed and kept, with the log lines and EMF records apart. */
export function capturedTelemetry(): {
  telemetry: AuthorizerTelemetry;
  lines: WrittenLine[];
  logs: (level: string) => WrittenLine[];
  emfRecords: () => WrittenLine[];
} {
  const lines: WrittenLine[] = [];
  const telemetry = createAuthorizerTelemetry({ level: 'DEBUG', write: (line) => lines.push(JSON.parse(line)) });
  return {
    telemetry,
    lines,
    logs: (level) => lines.filter((line) => line.level === level),
    emfRecords: () => lines.filter((line) => '_aws' in line),
  };
}
