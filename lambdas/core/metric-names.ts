/**
 * The names dashboards and alarms rely on, declared once with no dependency, so that both the Powertools-based
 * observability of the handlers (`observability.ts`) and the authorizers' dependency-free telemetry
 * (`authorizer-telemetry.ts`) emit exactly the same service, namespace and metric names.
 */

export const serviceName = 'realtime-gateway';
export const metricsNamespace = 'RealtimeGateway';

/** Metric names, declared once so dashboards and alarms can rely on them. */
export const MetricName = {
  MessagesDelivered: 'MessagesDelivered',
  StaleConnectionsRemoved: 'StaleConnectionsRemoved',
  PostsFailed: 'PostsFailed',
  AuthRefused: 'AuthRefused',
  ConnectionsOpened: 'ConnectionsOpened',
  ConnectionsClosed: 'ConnectionsClosed',
} as const;

export type MetricName = (typeof MetricName)[keyof typeof MetricName];
